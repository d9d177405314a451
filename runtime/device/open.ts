/**
 * openDevice: from a name to an open, ready device fd.
 *
 * Accepted forms (see runtime/README.md):
 *  - `/dev/vfio/devices/vfioN` (or any other path with `{ cdev }`): the cdev path — open, BIND_IOMMUFD to
 *    /dev/iommu, IOMMU_IOAS_ALLOC, ATTACH_IOMMUFD_PT.
 *  - `/dev/vfio/GROUP:DEVICE` (e.g. `/dev/vfio/7:0000:01:00.0`) or `{ group, name, container? }`: the legacy
 *    path — container GET_API_VERSION, CHECK_EXTENSION, group GET_STATUS (viable), SET_CONTAINER,
 *    SET_IOMMU (TYPE1v2, else TYPE1), GET_DEVICE_FD.
 *  - `emulated:PERSONALITY[+QUIRK…]`: start the in-process emulator and open its device by the cdev path.
 */
import { existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import {
  VFIO_API_VERSION,
  VFIO_GROUP_FLAGS_VIABLE,
  VFIO_TYPE1_IOMMU,
  VFIO_TYPE1v2_IOMMU,
} from '../../generated/constants.js';
import type { EmulatorHandle } from '../emulator/api.js';
import { VfioError, type FdKind } from '../errors.js';
import { close, Errno, lastErrno, O_CLOEXEC, O_RDWR, openOrThrow, isSysError } from '../sys/index.js';
import { Device, type OpenedFd } from './device.js';
import { claimEmulated, parseEmulated, startEmulated, type EmulatorStartOptions } from './emulated.js';
import { vfio } from './ioctls.js';

export type DeviceSpec =
  string | { cdev: string; iommufd?: string } | { group: string; name: string; container?: string };

export interface OpenOptions extends EmulatorStartOptions {}

const ENOENT = 2;
const EACCES = 13;
const EPERM = 1;
const ENOTTY = 25;

type Classified =
  | { access: 'cdev'; cdev: string; iommufd: string }
  | { access: 'group'; group: string; name: string; container: string };

/** Decide which access path a device string names. */
export function classifyDevice(spec: DeviceSpec): Classified {
  if (typeof spec !== 'string') {
    if ('cdev' in spec) return { access: 'cdev', cdev: spec.cdev, iommufd: spec.iommufd ?? '/dev/iommu' };
    return { access: 'group', group: spec.group, name: spec.name, container: spec.container ?? '/dev/vfio/vfio' };
  }
  // `/dev/vfio/7:0000:01:00.0`: a group node followed by the device name (which itself contains colons).
  const groupForm = /^(.*\/vfio\/[^/:]+):(.+)$/.exec(spec);
  if (groupForm && !existsSync(spec))
    return { access: 'group', group: groupForm[1]!, name: groupForm[2]!, container: `${dirname(groupForm[1]!)}/vfio` };
  if (dirname(spec) === '/dev/vfio' && /^(noiommu-)?\d+$/.test(basename(spec)))
    throw new VfioError(`${spec} is a VFIO group; name the device too, e.g. ${spec}:0000:01:00.0`, {
      kind: 'usage',
      op: `open ${spec}`,
      fdKind: 'group',
    });
  return { access: 'cdev', cdev: spec, iommufd: '/dev/iommu' };
}

/** Open one device. An `emulated:…` string starts this process's emulator with that one device. */
export async function openDevice(spec: DeviceSpec, opts: OpenOptions = {}): Promise<Device> {
  return (await openDevices([spec], opts))[0]!;
}

/** One Device per designator, in order: a tuple of designators gives a tuple of devices. */
export type DevicesFor<T extends readonly DeviceSpec[]> = { -readonly [K in keyof T]: Device };

/**
 * Open several devices; all `emulated:…` ones share one emulator, started once with all of them.
 * `const [src, dst] = await openDevices(['emulated:mlx5', '/dev/vfio/devices/vfio0'])` types both as Device.
 */
export async function openDevices<const T extends readonly DeviceSpec[]>(
  specs: T,
  opts: OpenOptions = {},
): Promise<DevicesFor<T>> {
  const emulatedAt: number[] = [];
  const emulatedOpts = specs.flatMap((s, i) => {
    const e = typeof s === 'string' ? parseEmulated(s) : null;
    if (e) emulatedAt.push(i);
    return e ? [e] : [];
  });
  let emulator: EmulatorHandle | null = null;
  if (emulatedOpts.length) emulator = await startEmulated(emulatedOpts, opts);
  const opened: Device[] = [];
  try {
    for (const [i, spec] of specs.entries()) {
      const k = emulatedAt.indexOf(i);
      if (emulator && k >= 0) {
        const dev = emulator.devices[k]!;
        const fds = openCdev(dev.cdevPath, emulator.iommufdPath, spec as string);
        claimEmulated(emulator, k);
        opened.push(
          new Device({ spec: spec as string, access: 'cdev', identity: spec as string }, fds, {
            handle: emulator,
            device: dev,
          }),
        );
        continue;
      }
      const c = classifyDevice(spec);
      const label = typeof spec === 'string' ? spec : c.access === 'cdev' ? c.cdev : `${c.group}:${c.name}`;
      if (c.access === 'cdev')
        opened.push(new Device({ spec: label, access: 'cdev', identity: c.cdev }, openCdev(c.cdev, c.iommufd, label)));
      else
        opened.push(
          new Device({ spec: label, access: 'group', identity: c.name }, openGroup(c.group, c.name, c.container)),
        );
    }
  } catch (e) {
    for (const d of opened) await d.close();
    if (emulator && !opened.length) await emulator.stop().catch(() => {});
    throw e;
  }
  return opened as DevicesFor<T>;
}

/** open(2) with O_RDWR|O_CLOEXEC, turning errno into a sentence about the path. */
function openPath(path: string, kind: FdKind, what: string): number {
  try {
    return openOrThrow(path, O_RDWR | O_CLOEXEC);
  } catch (e) {
    const errno = isSysError(e) ? e.errno : lastErrno();
    const op = `open ${path}`;
    if (errno === ENOENT)
      throw new VfioError(`${path} does not exist`, {
        kind: 'not-found',
        op,
        fdKind: kind,
        errno,
        hint: hintFor(kind),
      });
    if (errno === EACCES || errno === EPERM)
      throw new VfioError(`permission denied opening ${path} (${what})`, {
        kind: 'permission',
        op,
        fdKind: kind,
        errno,
        hint: 'run as root or give your user access to the VFIO nodes',
      });
    throw VfioError.fromErrno(op, kind, errno, { kind: 'not-vfio', hint: `${path} must be ${what}` });
  }
}

function hintFor(kind: FdKind): string | undefined {
  if (kind === 'iommufd') return 'the kernel has no iommufd; use the group form /dev/vfio/GROUP:DEVICE';
  if (kind === 'container') return 'the vfio module is not loaded';
  return undefined;
}

/** Track fds as they open so a failure half-way closes exactly those, newest first. */
class FdStack {
  readonly fds: OpenedFd[] = [];
  push(fd: number, kind: FdKind, what: string): number {
    this.fds.push({ fd, kind, what });
    return fd;
  }
  closeAll(): void {
    for (const f of this.fds.reverse()) close(f.fd);
    this.fds.length = 0;
  }
}

function openCdev(cdev: string, iommufdPath: string, label: string): OpenedFd[] {
  const stack = new FdStack();
  try {
    const dev = stack.push(openPath(cdev, 'device', 'a VFIO device cdev'), 'device', cdev);
    // Before BIND a real cdev answers every ioctl with EINVAL; ENOTTY means this is no VFIO device at all.
    const probe = vfio.VFIO_DEVICE_GET_INFO(dev, Buffer.alloc(24));
    if (!probe.ok && probe.errno === ENOTTY)
      throw new VfioError(`${label} is not a VFIO device (VFIO ioctls answer ENOTTY)`, {
        kind: 'not-vfio',
        op: 'VFIO_DEVICE_GET_INFO',
        fdKind: 'device',
        errno: ENOTTY,
      });
    const iommufd = stack.push(openPath(iommufdPath, 'iommufd', 'the iommufd node'), 'iommufd', iommufdPath);
    const bind = vfio.VFIO_DEVICE_BIND_IOMMUFD_value(dev, {
      argsz: 24,
      flags: 0,
      iommufd,
      out_devid: 0,
      token_uuid_ptr: 0n,
    });
    if (!bind.ok) throw VfioError.fromErrno('VFIO_DEVICE_BIND_IOMMUFD', 'device', bind.errno);
    const ioas = vfio.IOMMU_IOAS_ALLOC_value(iommufd, { size: 12, flags: 0, out_ioas_id: 0 });
    if (!ioas.ok) throw VfioError.fromErrno('IOMMU_IOAS_ALLOC', 'iommufd', ioas.errno);
    const attach = vfio.VFIO_DEVICE_ATTACH_IOMMUFD_PT_value(dev, {
      argsz: 16,
      flags: 0,
      pt_id: ioas.value.out_ioas_id,
      pasid: 0,
    });
    if (!attach.ok) throw VfioError.fromErrno('VFIO_DEVICE_ATTACH_IOMMUFD_PT', 'device', attach.errno);
    // Close order is newest first, so put the device fd last: it must close before the iommufd.
    const [devFd, iommuFd] = stack.fds;
    return [iommuFd!, devFd!];
  } catch (e) {
    stack.closeAll();
    throw e;
  }
}

function openGroup(groupPath: string, name: string, containerPath: string): OpenedFd[] {
  const stack = new FdStack();
  try {
    const container = stack.push(
      openPath(containerPath, 'container', 'the VFIO container node'),
      'container',
      containerPath,
    );
    const api = vfio.VFIO_GET_API_VERSION(container);
    if (!api.ok || api.ret !== VFIO_API_VERSION)
      throw new VfioError(`${containerPath} is not a VFIO container (API version ${api.ok ? api.ret : 'unknown'})`, {
        kind: 'not-vfio',
        op: 'VFIO_GET_API_VERSION',
        fdKind: 'container',
        errno: api.ok ? 0 : api.errno,
      });
    const v2 = vfio.VFIO_CHECK_EXTENSION(container, VFIO_TYPE1v2_IOMMU);
    const v1 = vfio.VFIO_CHECK_EXTENSION(container, VFIO_TYPE1_IOMMU);
    const iommuType = v2.ok && v2.ret > 0 ? VFIO_TYPE1v2_IOMMU : v1.ok && v1.ret > 0 ? VFIO_TYPE1_IOMMU : 0;
    if (!iommuType)
      throw new VfioError(`${containerPath} supports neither the TYPE1v2 nor the TYPE1 IOMMU`, {
        kind: 'not-vfio',
        op: 'VFIO_CHECK_EXTENSION',
        fdKind: 'container',
      });
    const group = stack.push(openPath(groupPath, 'group', 'a VFIO group node'), 'group', groupPath);
    const status = vfio.VFIO_GROUP_GET_STATUS_value(group, { argsz: 8, flags: 0 });
    if (!status.ok)
      throw VfioError.fromErrno('VFIO_GROUP_GET_STATUS', 'group', status.errno, {
        kind: status.errno === ENOTTY ? 'not-vfio' : 'kernel',
      });
    if (!(status.value.flags & VFIO_GROUP_FLAGS_VIABLE))
      throw new VfioError(
        `group ${groupPath} is not viable: bind every device of the group to vfio-pci (or unbind it)`,
        {
          kind: 'kernel',
          op: 'VFIO_GROUP_GET_STATUS',
          fdKind: 'group',
        },
      );
    const set = vfio.VFIO_GROUP_SET_CONTAINER(group, container);
    if (!set.ok) throw VfioError.fromErrno('VFIO_GROUP_SET_CONTAINER', 'group', set.errno);
    let iommu = vfio.VFIO_SET_IOMMU(container, iommuType);
    if (!iommu.ok && iommuType === VFIO_TYPE1v2_IOMMU) iommu = vfio.VFIO_SET_IOMMU(container, VFIO_TYPE1_IOMMU);
    if (!iommu.ok) throw VfioError.fromErrno('VFIO_SET_IOMMU', 'container', iommu.errno);
    const dev = vfio.VFIO_GROUP_GET_DEVICE_FD(group, name);
    if (!dev.ok)
      throw VfioError.fromErrno(`VFIO_GROUP_GET_DEVICE_FD "${name}"`, 'group', dev.errno, {
        kind: dev.errno === Errno.EINVAL || dev.errno === Errno.ENODEV ? 'not-found' : 'kernel',
        hint: `is ${name} a device of group ${basename(groupPath)}?`,
      });
    stack.push(dev.ret, 'device', name);
    return stack.fds;
  } catch (e) {
    stack.closeAll();
    throw e;
  }
}
