/**
 * What a saved header records about its source, and what a destination is checked against: the driver (from
 * sysfs for real devices; `emulated-PERSONALITY` for emulated ones), the migration flags and the device flags.
 */
import { readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import type { Device } from '../device/device.js';
import { printable, MAX_DRIVER, type StreamFacts } from './format.js';

/** The kernel driver bound to a real device, read from sysfs; "" when it cannot be found. */
export function driverOf(device: Device): string {
  if (device.emulator) return `emulated-${device.emulator.device.personality}`;
  const { access, identity } = device.id;
  // Sysfs layout: /sys/class/vfio-dev/vfioN/device/driver (cdev), /sys/bus/{pci,mdev}/devices/NAME/driver (group).
  const cdev = /^\/dev\/vfio\/devices\/(vfio\d+)$/.exec(identity);
  const links =
    access === 'cdev'
      ? cdev
        ? [`/sys/class/vfio-dev/${cdev[1]}/device/driver`]
        : []
      : [`/sys/bus/pci/devices/${identity}/driver`, `/sys/bus/mdev/devices/${identity}/driver`];
  for (const link of links) {
    try {
      return printable(basename(readlinkSync(link)), MAX_DRIVER);
    } catch {
      /* not this bus */
    }
  }
  return '';
}

/** The facts of an open device, as a destination (or as the source of a migration). */
export function factsOf(device: Device): StreamFacts {
  let deviceFlags = 0;
  try {
    deviceFlags = device.info().flags;
  } catch {
    /* GET_INFO is informative here; a device that fails it can still migrate */
  }
  return {
    name: device.id.spec,
    driver: driverOf(device),
    migrationFlags: device.migration()?.flags ?? 0,
    deviceFlags,
  };
}
