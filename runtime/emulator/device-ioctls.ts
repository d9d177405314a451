/**
 * ioctls on a device fd (from GROUP_GET_DEVICE_FD, or a bound cdev): GET_INFO, GET_REGION_INFO, RESET and
 * VFIO_DEVICE_FEATURE; plus pread/pwrite of regions at their offsets on group-obtained device fds.
 */
import {
  decodeVfioDeviceInfo,
  decodeVfioRegionInfo,
  encodeVfioDeviceInfo,
  encodeVfioRegionInfo,
  VfioDeviceInfoLayout,
  VfioRegionInfoLayout,
} from '../../generated/codecs.js';
import {
  VFIO_DEVICE_FEATURE,
  VFIO_DEVICE_GET_INFO,
  VFIO_DEVICE_GET_REGION_INFO,
  VFIO_DEVICE_RESET,
} from '../../generated/constants.js';
import { Errno } from '../sys/errno.js';
import type { DeviceModel } from './device-model.js';
import { deviceFeature } from './features.js';
import {
  fail,
  value,
  type Answer,
  type HandlerEnvironment,
  type IoctlCall,
  type TrappedCall,
} from './seccomp/handler.js';

/** Region offsets on the device fd: index << 40, as vfio-pci lays them out. */
const REGION_SHIFT = 40n;
const view = (b: Buffer) => new DataView(b.buffer, b.byteOffset, b.byteLength);

export function deviceIoctl(env: HandlerEnvironment, call: IoctlCall, device: DeviceModel): Answer {
  switch (call.request) {
    case VFIO_DEVICE_FEATURE:
      return deviceFeature(env, call, device);
    case VFIO_DEVICE_GET_INFO:
      return getInfo(call, device);
    case VFIO_DEVICE_GET_REGION_INFO:
      return getRegionInfo(call, device);
    case VFIO_DEVICE_RESET:
      device.reset(); // mig.reset.running
      return value(0);
    default:
      return fail(Errno.ENOTTY);
  }
}

function getInfo(call: IoctlCall, device: DeviceModel): Answer {
  const minsz = VfioDeviceInfoLayout.minsz;
  const info = decodeVfioDeviceInfo(view(Buffer.concat([call.readMem(call.arg, minsz), Buffer.alloc(24 - minsz)])));
  if (info.argsz < minsz) return fail(Errno.EINVAL);
  const out = Buffer.alloc(VfioDeviceInfoLayout.size);
  const { flags, numRegions, numIrqs } = device.personality.deviceInfo;
  const wrong = device.quirks.has('wrong-argsz-writeback');
  encodeVfioDeviceInfo(
    {
      argsz: wrong ? out.length : info.argsz,
      flags,
      num_regions: numRegions,
      num_irqs: numIrqs,
      cap_offset: 0,
      pad: 0,
    },
    view(out),
  );
  // Write back only what the caller said it has room for (the quirk writes the whole struct regardless).
  call.writeMem(call.arg, wrong ? out : out.subarray(0, Math.min(info.argsz, out.length)));
  return value(0);
}

function getRegionInfo(call: IoctlCall, device: DeviceModel): Answer {
  const info = decodeVfioRegionInfo(view(call.readMem(call.arg, VfioRegionInfoLayout.size)));
  if (info.argsz < VfioRegionInfoLayout.minsz) return fail(Errno.EINVAL);
  if (info.index >= device.personality.deviceInfo.numRegions) return fail(Errno.EINVAL);
  const region = device.personality.regions.find((r) => r.index === info.index);
  const out = Buffer.alloc(VfioRegionInfoLayout.size);
  encodeVfioRegionInfo(
    {
      argsz: info.argsz,
      flags: region?.flags ?? 0,
      index: info.index,
      cap_offset: 0,
      size: BigInt(region?.size ?? 0),
      offset: BigInt(info.index) << REGION_SHIFT,
    },
    view(out),
  );
  call.writeMem(call.arg, out);
  return value(0);
}

/** pread64/pwrite64 on a device fd: region access; other positioned or stream calls are refused. */
export function deviceOther(call: TrappedCall, device: DeviceModel): Answer {
  if (call.syscall !== 'pread64' && call.syscall !== 'pwrite64') return fail(Errno.EINVAL);
  const [, buffer, countArg, offsetArg] = call.args as bigint[];
  const count = Number(countArg);
  const index = Number(offsetArg! >> REGION_SHIFT);
  const offset = Number(offsetArg! & ((1n << REGION_SHIFT) - 1n));
  const region = device.personality.regions.find((r) => r.index === index);
  if (!region || offset >= region.size) return fail(Errno.EINVAL);
  if (call.syscall === 'pread64') {
    const data = device.personality.regionRead(index, offset, count);
    call.writeMem(buffer!, data);
    return value(data.length);
  }
  const data = call.readMem(buffer!, Math.min(count, region.size - offset));
  device.personality.regionWrite(index, offset, data);
  return value(data.length);
}
