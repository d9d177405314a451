/**
 * The access nodes of a real device, found through sysfs, for the access-path rules: its group node and the
 * container, its cdev and /dev/iommu — whichever the running kernel has, with the reason for each it has not.
 *
 *   /dev/vfio/GROUP:NAME     → group /dev/vfio/GROUP; cdev from /sys/bus/{mdev,pci}/devices/NAME/vfio-dev/vfioN
 *   /dev/vfio/devices/vfioN  → cdev itself; group from /sys/class/vfio-dev/vfioN/device/iommu_group
 */
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import type { AccessPaths } from './checks/access-paths.js';

const BUSES = ['/sys/bus/mdev/devices', '/sys/bus/pci/devices'];

function cdevOfDevice(sysfsDevice: string): string | null {
  try {
    const [node] = readdirSync(`${sysfsDevice}/vfio-dev`).filter((n) => /^vfio\d+$/.test(n));
    return node ? `/dev/vfio/devices/${node}` : null;
  } catch {
    return null;
  }
}

function groupOfDevice(sysfsDevice: string): string | null {
  try {
    return `/dev/vfio/${basename(readlinkSync(`${sysfsDevice}/iommu_group`))}`;
  } catch {
    return null;
  }
}

const GROUP_FORM = /^(\/dev\/vfio\/[^/:]+):(.+)$/;
const CDEV_FORM = /^\/dev\/vfio\/devices\/(vfio\d+)$/;

/**
 * The sysfs folder of a real device, from the string the runtime opens (`/dev/vfio/GROUP:NAME` on whichever
 * bus has NAME, or `/dev/vfio/devices/vfioN`); null when no bus has it or the string is of another form.
 */
export function sysfsOfDevice(device: string): string | null {
  const groupForm = GROUP_FORM.exec(device);
  if (groupForm) return BUSES.map((bus) => `${bus}/${groupForm[2]}`).find((dir) => existsSync(dir)) ?? null;
  const cdevForm = CDEV_FORM.exec(device);
  return cdevForm ? `/sys/class/vfio-dev/${cdevForm[1]}/device` : null;
}

/** The nodes of `device` (a path the runtime opens), or null for a form this does not know. */
export function accessPathsOfDevice(device: string): AccessPaths | null {
  const sysfs = sysfsOfDevice(device);
  let group: string | null = null;
  let cdev: string | null = null;
  const groupForm = GROUP_FORM.exec(device);
  if (groupForm) {
    group = groupForm[1]!;
    if (sysfs) cdev = cdevOfDevice(sysfs);
  } else if (CDEV_FORM.test(device)) {
    cdev = device;
    group = groupOfDevice(sysfs!);
  } else return null;

  const paths: AccessPaths = { absent: {} };
  if (group && existsSync(group)) paths.group = group;
  else paths.absent!.group = 'no VFIO group node for this device (a kernel without CONFIG_VFIO_GROUP)';
  if (existsSync('/dev/vfio/vfio')) paths.container = '/dev/vfio/vfio';
  else paths.absent!.container = 'this kernel has no /dev/vfio/vfio (CONFIG_VFIO_CONTAINER is off)';
  if (cdev && existsSync(cdev)) paths.cdev = cdev;
  else paths.absent!.cdev = 'this kernel has no /dev/vfio/devices/* (CONFIG_VFIO_DEVICE_CDEV is off)';
  if (existsSync('/dev/iommu')) paths.iommufd = '/dev/iommu';
  else paths.absent!.iommufd = 'this kernel has no /dev/iommu (CONFIG_IOMMUFD is off)';
  return paths;
}
