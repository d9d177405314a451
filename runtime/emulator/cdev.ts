/**
 * The cdev path: /dev/vfio/devices/vfioN bound to an iommufd (/dev/iommu), with the spec's cdev.* and
 * iommufd.* rules. Until BIND_IOMMUFD succeeds a cdev open refuses everything else with EINVAL; once bound it
 * is a device fd. State is per open of each node (placeholder-identity.ts).
 */
import {
  decodeIommuDestroy,
  decodeIommuIoasAlloc,
  decodeVfioDeviceAttachIommufdPt,
  decodeVfioDeviceBindIommufd,
  encodeIommuIoasAlloc,
  VfioDeviceBindIommufdLayout,
} from '../../generated/codecs.js';
import {
  IOMMU_DESTROY,
  IOMMU_IOAS_ALLOC,
  VFIO_DEVICE_ATTACH_IOMMUFD_PT,
  VFIO_DEVICE_BIND_IOMMUFD,
  VFIO_DEVICE_DETACH_IOMMUFD_PT,
  VfioDeviceAttachFlagsKnown,
  VfioDeviceBindFlagsKnown,
  VfioDeviceDetachFlagsKnown,
} from '../../generated/constants.js';
import { Errno } from '../sys/errno.js';
import { readlinkOrNull } from '../sys/libc.js';
import type { DeviceModel } from './device-model.js';
import { deviceIoctl } from './device-ioctls.js';
import { openFileIdentity } from './placeholder-identity.js';
import { fail, value, type Answer, type HandlerEnvironment, type IoctlCall } from './seccomp/handler.js';

interface IommufdState {
  objects: Set<number>;
}

interface CdevOpen {
  bound: IommufdState | undefined;
  attachedTo: number | undefined;
}

const view = (b: Buffer) => new DataView(b.buffer, b.byteOffset, b.byteLength);
let nextObjectId = 1;
let nextDevid = 1;

export class CdevPath {
  private readonly iommufds = new Map<number, IommufdState>();
  private readonly cdevs = new Map<number, CdevOpen>();

  constructor(
    private readonly env: HandlerEnvironment,
    private readonly iommufdPath: string,
  ) {}

  private iommufdOf(fd: number): IommufdState {
    const id = openFileIdentity(fd);
    let s = this.iommufds.get(id);
    if (!s) this.iommufds.set(id, (s = { objects: new Set() }));
    return s;
  }

  iommufdIoctl(call: IoctlCall): Answer {
    const iommufd = this.iommufdOf(call.fd);
    const size = call.readMem(call.arg, 4).readUInt32LE(0);
    switch (call.request) {
      case IOMMU_IOAS_ALLOC: {
        if (size < 12) return fail(Errno.EINVAL);
        const raw = call.readMem(call.arg, Math.min(size, 4096));
        if (raw.subarray(12).some((b) => b !== 0)) return fail(Errno.E2BIG); // iommufd.trailing
        const alloc = decodeIommuIoasAlloc(view(raw));
        if (alloc.flags !== 0) return fail(Errno.EOPNOTSUPP); // iommufd.ioas_alloc.flags
        const id = nextObjectId++;
        iommufd.objects.add(id);
        const out = Buffer.alloc(12);
        encodeIommuIoasAlloc({ size: alloc.size, flags: 0, out_ioas_id: id }, view(out));
        call.writeMem(call.arg, out);
        return value(0);
      }
      case IOMMU_DESTROY: {
        if (size < 8) return fail(Errno.EINVAL);
        const { id } = decodeIommuDestroy(view(call.readMem(call.arg, 8)));
        if (!iommufd.objects.delete(id)) return fail(Errno.ENOENT);
        return value(0);
      }
      default:
        return fail(Errno.ENOTTY);
    }
  }

  cdevIoctl(call: IoctlCall, device: DeviceModel): Answer {
    const id = openFileIdentity(call.fd);
    let open = this.cdevs.get(id);
    if (!open) this.cdevs.set(id, (open = { bound: undefined, attachedTo: undefined }));
    if (call.request === VFIO_DEVICE_BIND_IOMMUFD) return this.bind(call, open, id, device);
    if (!open.bound) return fail(Errno.EINVAL); // cdev.unbound
    switch (call.request) {
      case VFIO_DEVICE_ATTACH_IOMMUFD_PT: {
        const raw = call.readMem(call.arg, 16);
        const attach = decodeVfioDeviceAttachIommufdPt(view(raw));
        if (attach.argsz < 12 || (attach.flags & ~VfioDeviceAttachFlagsKnown) !== 0) return fail(Errno.EINVAL); // cdev.attach
        if (attach.flags !== 0) return fail(Errno.EOPNOTSUPP); // PASID needs driver support we do not have
        if (!open.bound.objects.has(attach.pt_id)) return fail(Errno.ENOENT);
        open.attachedTo = attach.pt_id;
        return value(0); // pt_id already holds the attached id
      }
      case VFIO_DEVICE_DETACH_IOMMUFD_PT: {
        const raw = call.readMem(call.arg, 8);
        if (raw.readUInt32LE(0) < 8 || (raw.readUInt32LE(4) & ~VfioDeviceDetachFlagsKnown) !== 0)
          return fail(Errno.EINVAL);
        open.attachedTo = undefined;
        return value(0);
      }
      default:
        return deviceIoctl(this.env, call, device);
    }
  }

  private bind(call: IoctlCall, open: CdevOpen, identity: number, device: DeviceModel): Answer {
    const raw = call.readMem(call.arg, VfioDeviceBindIommufdLayout.minsz);
    const bind = decodeVfioDeviceBindIommufd(view(Buffer.concat([raw, Buffer.alloc(8)])));
    if (bind.argsz < VfioDeviceBindIommufdLayout.minsz || (bind.flags & ~VfioDeviceBindFlagsKnown) !== 0)
      return fail(Errno.EINVAL);
    if (bind.iommufd < 0 || open.bound) return fail(Errno.EINVAL); // cdev.bind: valid fd, once
    if (readlinkOrNull(`/proc/${call.pid}/fd/${bind.iommufd}`) !== this.iommufdPath) return fail(Errno.EINVAL);
    open.bound = this.iommufdOf(bind.iommufd);
    device.opened(identity); // a cdev fd opens the device when it binds (vfio_df_open)
    const out = Buffer.alloc(4);
    out.writeUInt32LE(nextDevid++);
    call.writeMem(call.arg + 12n, out); // out_devid
    return value(0);
  }
}
