/**
 * The legacy path: container (/dev/vfio/vfio) and group (/dev/vfio/N) ioctls, with the errnos of the spec's
 * group.* and container.* rules. A group is one object whatever fd reaches it; container state belongs to
 * one open of the container node.
 */
import { openSync } from 'node:fs';
import { decodeVfioGroupStatus, encodeVfioGroupStatus } from '../../generated/codecs.js';
import {
  VFIO_API_VERSION,
  VFIO_CHECK_EXTENSION,
  VFIO_GET_API_VERSION,
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_GROUP_GET_STATUS,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_GROUP_UNSET_CONTAINER,
  VFIO_SET_IOMMU,
  VfioExtension,
  VfioGroupFlags,
} from '../../generated/constants.js';
import { Errno } from '../sys/errno.js';
import { readlinkOrNull } from '../sys/libc.js';
import type { DeviceModel } from './device-model.js';
import { openFileIdentity } from './placeholder-identity.js';
import { fail, value, type Answer, type IoctlCall } from './seccomp/handler.js';

/** Extensions our type1 container claims (TYPE1, TYPE1v2, UNMAP_ALL); NOIOMMU and the rest answer 0. */
const EXTENSIONS = new Set<number>([VfioExtension.TYPE1_IOMMU, VfioExtension.TYPE1v2_IOMMU, VfioExtension.UNMAP_ALL]);
const IOMMU_TYPES = new Set<number>([VfioExtension.TYPE1_IOMMU, VfioExtension.TYPE1v2_IOMMU]);

interface ContainerState {
  groups: Set<GroupState>;
  iommuType: number | undefined;
}

export interface GroupState {
  device: DeviceModel;
  devicePath: string;
  container: ContainerState | undefined;
  /** Which open of the group node the state belongs to (the kernel allows one open at a time). */
  openIdentity?: number;
}

const view = (b: Buffer) => new DataView(b.buffer, b.byteOffset, b.byteLength);

export class LegacyPath {
  private readonly containers = new Map<number, ContainerState>();

  constructor(
    private readonly containerPath: string,
    private readonly iommufdPath: string,
  ) {}

  private containerOf(fd: number): ContainerState {
    const id = openFileIdentity(fd);
    let c = this.containers.get(id);
    if (!c) this.containers.set(id, (c = { groups: new Set(), iommuType: undefined }));
    return c;
  }

  containerIoctl(call: IoctlCall): Answer {
    const container = this.containerOf(call.fd);
    switch (call.request) {
      case VFIO_GET_API_VERSION:
        return value(VFIO_API_VERSION);
      case VFIO_CHECK_EXTENSION:
        return value(EXTENSIONS.has(Number(call.arg)) ? 1 : 0);
      case VFIO_SET_IOMMU: {
        if (container.groups.size === 0) return fail(Errno.EINVAL); // container.set_iommu.no_group
        if (!IOMMU_TYPES.has(Number(call.arg)) || container.iommuType !== undefined) return fail(Errno.EINVAL);
        container.iommuType = Number(call.arg);
        return value(0);
      }
      default:
        return fail(Errno.ENOTTY);
    }
  }

  groupIoctl(call: IoctlCall, group: GroupState): Answer {
    const identity = openFileIdentity(call.fd);
    if (group.openIdentity !== identity) {
      // A new open: the previous one was closed, which released its container.
      group.container?.groups.delete(group);
      group.container = undefined;
      group.openIdentity = identity;
    }
    switch (call.request) {
      case VFIO_GROUP_GET_STATUS: {
        const status = decodeVfioGroupStatus(view(call.readMem(call.arg, 8)));
        if (status.argsz < 8) return fail(Errno.EINVAL);
        const flags = VfioGroupFlags.VIABLE | (group.container ? VfioGroupFlags.CONTAINER_SET : 0);
        const out = Buffer.alloc(8);
        encodeVfioGroupStatus({ argsz: status.argsz, flags }, view(out));
        call.writeMem(call.arg, out);
        return value(0);
      }
      case VFIO_GROUP_SET_CONTAINER: {
        const fd = call.readMem(call.arg, 4).readInt32LE(0);
        if (group.container) return fail(Errno.EINVAL); // group.set_container.twice
        const link = fd >= 0 ? readlinkOrNull(`/proc/${call.pid}/fd/${fd}`) : null;
        if (link === null) return fail(Errno.EBADF); // not an open fd
        if (link !== this.containerPath && link !== this.iommufdPath) return fail(Errno.EBADFD); // .bad_fd (6.2+)
        // An iommufd in compat mode behaves as a type1 container here.
        const container =
          link === this.containerPath ? this.containerOf(fd) : { groups: new Set<GroupState>(), iommuType: 3 };
        container.groups.add(group);
        group.container = container;
        return value(0);
      }
      case VFIO_GROUP_UNSET_CONTAINER:
        if (!group.container) return fail(Errno.EINVAL);
        group.container.groups.delete(group);
        group.container = undefined;
        return value(0);
      case VFIO_GROUP_GET_DEVICE_FD: {
        if (!group.container || group.container.iommuType === undefined) return fail(Errno.EINVAL);
        const name = call.readMem(call.arg, 256);
        const end = name.indexOf(0);
        const wanted = name.subarray(0, end < 0 ? name.length : end).toString();
        if (wanted !== group.device.groupDeviceName) return fail(Errno.ENODEV);
        const fd = openSync(group.devicePath, 'r+');
        // The installed fd shares this open file: its identity (the file offset) is the caller's too.
        group.device.opened(openFileIdentity(fd));
        return { addFd: { fd, tag: { kind: 'device', device: group.device }, closeOurs: true } };
      }
      default:
        return fail(Errno.ENOTTY);
    }
  }
}
