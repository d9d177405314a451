/**
 * Raw syscalls for the emulator tests: runtime/sys (koffi libc) and generated codecs/constants only, never the
 * runtime library, so the tests check the emulator at the syscall boundary.
 */
import { openSync } from 'node:fs';
import {
  FEATURES,
  IOMMU_IOAS_ALLOC,
  VFIO_DEVICE_ATTACH_IOMMUFD_PT,
  VFIO_DEVICE_BIND_IOMMUFD,
  VFIO_DEVICE_FEATURE,
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_MIG_GET_PRECOPY_INFO,
  VFIO_SET_IOMMU,
  type FeatureName,
} from '../../generated/constants.js';
import { featureFlags } from '../../generated/validators.js';
import { errnoName } from '../../runtime/sys/errno.js';
import { ioctl, lastErrno, read, write } from '../../runtime/sys/libc.js';

/** `ret` or the errno name of a raw call. */
export function result(ret: number): number | string {
  return ret < 0 ? errnoName(lastErrno()) : ret;
}

export function rawIoctl(fd: number, request: number, arg: Buffer | number | bigint | null): number | string {
  return result(ioctl(fd, request, arg));
}

export function feature(
  fd: number,
  name: FeatureName,
  op: Parameters<typeof featureFlags>[1],
  payload = Buffer.alloc(0),
  argsz?: number,
) {
  const buf = Buffer.alloc(8 + payload.length);
  buf.writeUInt32LE(argsz ?? buf.length, 0);
  buf.writeUInt32LE(featureFlags(name, op), 4);
  payload.copy(buf, 8);
  const ret = rawIoctl(fd, VFIO_DEVICE_FEATURE, buf);
  return { ret, payload: buf.subarray(8) };
}

export function rawFeature(fd: number, argsz: number, flags: number, payloadBytes = 8) {
  const buf = Buffer.alloc(8 + payloadBytes);
  buf.writeUInt32LE(argsz, 0);
  buf.writeUInt32LE(flags >>> 0, 4);
  return rawIoctl(fd, VFIO_DEVICE_FEATURE, buf);
}

export function getState(fd: number): { ret: number | string; state: number; dataFd: number } {
  const { ret, payload } = feature(fd, 'VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE', 'GET', Buffer.alloc(8));
  return { ret, state: payload.readUInt32LE(0), dataFd: payload.readInt32LE(4) };
}

export function setState(fd: number, state: number): { ret: number | string; state: number; dataFd: number } {
  const p = Buffer.alloc(8);
  p.writeUInt32LE(state, 0);
  p.writeInt32LE(1234, 4);
  const { ret, payload } = feature(fd, 'VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE', 'SET', p);
  return { ret, state: payload.readUInt32LE(0), dataFd: payload.readInt32LE(4) };
}

export function dataSize(fd: number): bigint {
  return feature(fd, 'VFIO_DEVICE_FEATURE_MIG_DATA_SIZE', 'GET', Buffer.alloc(8)).payload.readBigUInt64LE(0);
}

export function precopyInfo(dataFd: number, argsz = 24, flagsIn = 0) {
  const b = Buffer.alloc(24);
  b.writeUInt32LE(argsz, 0);
  b.writeUInt32LE(flagsIn, 4);
  const ret = rawIoctl(dataFd, VFIO_MIG_GET_PRECOPY_INFO, b);
  return { ret, flags: b.readUInt32LE(4), initial: b.readBigUInt64LE(8), dirty: b.readBigUInt64LE(16) };
}

/** One read(); the byte count or the errno name. */
export function readOnce(fd: number, n = 1 << 20): { ret: number | string; data: Buffer } {
  const buf = Buffer.alloc(n);
  const r = read(fd, buf, n);
  return { ret: result(r), data: buf.subarray(0, Math.max(r, 0)) };
}

/** Reads until 0 or an errno; returns the bytes and how it ended. */
export function readAll(fd: number): { data: Buffer; end: number | string } {
  const parts: Buffer[] = [];
  for (;;) {
    const { ret, data } = readOnce(fd);
    if (ret === 0 || typeof ret === 'string') return { data: Buffer.concat(parts), end: ret };
    parts.push(data);
  }
}

export function writeAll(fd: number, data: Buffer, chunk = 1 << 20): number | string {
  for (let at = 0; at < data.length; at += chunk) {
    const part = data.subarray(at, Math.min(at + chunk, data.length));
    const r = result(write(fd, part, part.length));
    if (typeof r === 'string') return r;
  }
  return 0;
}

/** Legacy path: container + group + SET_CONTAINER + SET_IOMMU(TYPE1v2) + GET_DEVICE_FD. */
export function openViaGroup(containerPath: string, groupPath: string, name: string) {
  const container = openSync(containerPath, 'r+');
  const group = openSync(groupPath, 'r+');
  const fdBuf = Buffer.alloc(4);
  fdBuf.writeInt32LE(container);
  const setContainer = rawIoctl(group, VFIO_GROUP_SET_CONTAINER, fdBuf);
  const setIommu = rawIoctl(container, VFIO_SET_IOMMU, 3);
  const device = rawIoctl(group, VFIO_GROUP_GET_DEVICE_FD, Buffer.from(name + '\0'));
  return { container, group, setContainer, setIommu, device };
}

/** cdev path: open the cdev, then (with `bind`) BIND_IOMMUFD, IOMMU_IOAS_ALLOC, ATTACH_IOMMUFD_PT; the cdev fd. */
export function openCdevRaw(cdevPath: string, iommufd: number, bind = true): number {
  const cdev = openSync(cdevPath, 'r+');
  if (!bind) return cdev;
  const b = Buffer.alloc(24);
  b.writeUInt32LE(24, 0);
  b.writeInt32LE(iommufd, 8);
  if (rawIoctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, b) !== 0) throw new Error('VFIO_DEVICE_BIND_IOMMUFD failed');
  const alloc = Buffer.alloc(12);
  alloc.writeUInt32LE(12);
  if (rawIoctl(iommufd, IOMMU_IOAS_ALLOC, alloc) !== 0) throw new Error('IOMMU_IOAS_ALLOC failed');
  const attach = Buffer.alloc(16);
  attach.writeUInt32LE(12, 0);
  attach.writeUInt32LE(alloc.readUInt32LE(8), 8);
  if (rawIoctl(cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, attach) !== 0)
    throw new Error('VFIO_DEVICE_ATTACH_IOMMUFD_PT failed');
  return cdev;
}

export const State = {
  ERROR: 0,
  STOP: 1,
  RUNNING: 2,
  STOP_COPY: 3,
  RESUMING: 4,
  RUNNING_P2P: 5,
  PRE_COPY: 6,
  PRE_COPY_P2P: 7,
} as const;
export { FEATURES };
