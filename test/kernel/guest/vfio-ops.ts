// VFIO ioctls encoded by hand (numbers and layouts from the uAPI fact sheet, x86_64), on top of raw-vfio.ts.
// This is the seam where the project's runtime will take over; checks only see these functions.
import { readdirSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import * as sys from './raw-vfio.js';
import type { SysResult } from './raw-vfio.js';

const vfioIoctl = (k: number) => 0x3b64 + k;
export const ioctls = {
  getApiVersion: vfioIoctl(0),
  checkExtension: vfioIoctl(1),
  setIommu: vfioIoctl(2),
  groupGetStatus: vfioIoctl(3),
  groupSetContainer: vfioIoctl(4),
  groupGetDeviceFd: vfioIoctl(6),
  deviceGetInfo: vfioIoctl(7),
  deviceGetRegionInfo: vfioIoctl(8),
  deviceReset: vfioIoctl(11),
  deviceFeature: vfioIoctl(17),
  migGetPrecopyInfo: vfioIoctl(21),
};

export const featureFlags = { get: 1 << 16, set: 1 << 17, probe: 1 << 18 };
export const features = {
  pciVfToken: 0,
  migration: 1,
  migDeviceState: 2,
  lowPowerEntry: 3,
  dmaLoggingStart: 6,
  migDataSize: 9,
  migPrecopyInfoV2: 12,
};
export const migState = {
  ERROR: 0,
  STOP: 1,
  RUNNING: 2,
  STOP_COPY: 3,
  RESUMING: 4,
  RUNNING_P2P: 5,
  PRE_COPY: 6,
  PRE_COPY_P2P: 7,
} as const;
export const iommuType1v2 = 3;

export function stateName(value: number): string {
  return Object.entries(migState).find(([, v]) => v === value)?.[0] ?? String(value);
}

/** errno value → its name, for readable observations. */
export function errnoName(value: number): string {
  return Object.entries(sys.errno).find(([, v]) => v === value)?.[0] ?? `errno ${value}`;
}

/** "0" for success, otherwise the errno name. */
export function outcome(result: SysResult): string {
  return result.ret < 0 ? errnoName(result.errno) : String(result.ret);
}

export interface ContainerSession {
  container: number;
  groups: number[];
  apiVersion: SysResult;
  type1v2Extension: SysResult;
  groupStatusBefore: number;
  groupStatusAfter: number;
  setIommu: SysResult;
}

function must(result: SysResult, what: string): number {
  if (result.ret < 0) throw new Error(`${what}: ${errnoName(result.errno)}`);
  return result.ret;
}

function groupStatus(group: number): number {
  const status = Buffer.alloc(8);
  status.writeUInt32LE(8, 0);
  must(sys.ioctl(group, ioctls.groupGetStatus, status), 'GROUP_GET_STATUS');
  return status.readUInt32LE(4);
}

/** Opens the container, attaches every group and selects the type1v2 IOMMU: the legacy open path. */
export function openContainer(groupNumbers: readonly number[]): ContainerSession {
  const container = must(sys.open('/dev/vfio/vfio'), 'open /dev/vfio/vfio');
  const apiVersion = sys.ioctlValue(container, ioctls.getApiVersion, 0);
  const type1v2Extension = sys.ioctlValue(container, ioctls.checkExtension, iommuType1v2);
  const groups = groupNumbers.map((n) => must(sys.open(`/dev/vfio/${n}`), `open /dev/vfio/${n}`));
  const groupStatusBefore = groupStatus(groups[0] ?? -1);
  const containerFd = Buffer.alloc(4);
  containerFd.writeInt32LE(container, 0);
  for (const group of groups) must(sys.ioctl(group, ioctls.groupSetContainer, containerFd), 'SET_CONTAINER');
  const setIommu = sys.ioctlValue(container, ioctls.setIommu, iommuType1v2);
  const groupStatusAfter = groupStatus(groups[0] ?? -1);
  return { container, groups, apiVersion, type1v2Extension, groupStatusBefore, groupStatusAfter, setIommu };
}

export function checkExtension(container: number, extension: number): SysResult {
  return sys.ioctlValue(container, ioctls.checkExtension, extension);
}

export function deviceFd(group: number, name: string): number {
  return must(sys.ioctl(group, ioctls.groupGetDeviceFd, Buffer.from(`${name}\0`)), `GET_DEVICE_FD ${name}`);
}

/** The IOMMU group number of a sysfs device directory. */
export function iommuGroupOf(sysfsDevice: string): number {
  return Number(basename(readlinkSync(`${sysfsDevice}/iommu_group`)));
}

export function listDir(path: string): string[] {
  try {
    return readdirSync(path).sort();
  } catch {
    return [];
  }
}

export interface DeviceInfo {
  result: SysResult;
  argsz: number;
  flags: number;
  numRegions: number;
  numIrqs: number;
}

export function deviceInfo(device: number): DeviceInfo {
  const info = Buffer.alloc(24);
  info.writeUInt32LE(24, 0);
  const result = sys.ioctl(device, ioctls.deviceGetInfo, info);
  return {
    result,
    argsz: info.readUInt32LE(0),
    flags: info.readUInt32LE(4),
    numRegions: info.readUInt32LE(8),
    numIrqs: info.readUInt32LE(12),
  };
}

export interface RegionInfo {
  result: SysResult;
  flags: number;
  size: bigint;
  offset: bigint;
}

export function regionInfo(device: number, index: number): RegionInfo {
  const info = Buffer.alloc(32);
  info.writeUInt32LE(32, 0);
  info.writeUInt32LE(index, 8);
  const result = sys.ioctl(device, ioctls.deviceGetRegionInfo, info);
  return { result, flags: info.readUInt32LE(4), size: info.readBigUInt64LE(16), offset: info.readBigUInt64LE(24) };
}

export function regionRead(device: number, region: RegionInfo, at: number, width: 1 | 4): number {
  const buffer = Buffer.alloc(width);
  must(sys.pread(device, buffer, region.offset + BigInt(at)), 'region pread');
  return width === 1 ? buffer.readUInt8(0) : buffer.readUInt32LE(0);
}

export function regionWrite(device: number, region: RegionInfo, at: number, width: 1 | 4, value: number): void {
  const buffer = Buffer.alloc(width);
  if (width === 1) buffer.writeUInt8(value, 0);
  else buffer.writeUInt32LE(value >>> 0, 0);
  must(sys.pwrite(device, buffer, region.offset + BigInt(at)), 'region pwrite');
}

export function deviceReset(device: number): SysResult {
  return sys.ioctl(device, ioctls.deviceReset, null);
}

/** VFIO_DEVICE_FEATURE with an 8-byte header and `payload` bytes after it; answers the whole buffer back. */
export function feature(
  device: number,
  flags: number,
  payload = 0,
  argsz = 8 + payload,
): { result: SysResult; buffer: Buffer } {
  const buffer = Buffer.alloc(Math.max(8 + payload, 8));
  buffer.writeUInt32LE(argsz, 0);
  buffer.writeUInt32LE(flags >>> 0, 4);
  return { result: sys.ioctl(device, ioctls.deviceFeature, buffer), buffer };
}

export function getMigrationFlags(device: number): { result: SysResult; flags: number } {
  const { result, buffer } = feature(device, featureFlags.get | features.migration, 8);
  return { result, flags: Number(buffer.readBigUInt64LE(8)) };
}

export function getDataSize(device: number): { result: SysResult; size: number } {
  const { result, buffer } = feature(device, featureFlags.get | features.migDataSize, 8);
  return { result, size: Number(buffer.readBigUInt64LE(8)) };
}

export function getState(device: number): { result: SysResult; state: number; dataFd: number } {
  const { result, buffer } = feature(device, featureFlags.get | features.migDeviceState, 8);
  return { result, state: buffer.readUInt32LE(8), dataFd: buffer.readInt32LE(12) };
}

export function setState(device: number, state: number, argsz = 16): { result: SysResult; dataFd: number } {
  const buffer = Buffer.alloc(16);
  buffer.writeUInt32LE(argsz, 0);
  buffer.writeUInt32LE(featureFlags.set | features.migDeviceState, 4);
  buffer.writeUInt32LE(state, 8);
  buffer.writeInt32LE(-1, 12);
  const result = sys.ioctl(device, ioctls.deviceFeature, buffer);
  return { result, dataFd: buffer.readInt32LE(12) };
}

/** VFIO_MIG_GET_PRECOPY_INFO with `flags` as the caller's input; answers what the kernel left in the struct. */
export function precopyInfo(
  dataFd: number,
  flags = 0,
): { result: SysResult; flags: number; initial: number; dirty: number } {
  const info = Buffer.alloc(24);
  info.writeUInt32LE(24, 0);
  info.writeUInt32LE(flags >>> 0, 4);
  const result = sys.ioctl(dataFd, ioctls.migGetPrecopyInfo, info);
  return {
    result,
    flags: info.readUInt32LE(4),
    initial: Number(info.readBigUInt64LE(8)),
    dirty: Number(info.readBigUInt64LE(16)),
  };
}

/** Reads until read() returns 0 or fails; answers the bytes and the sizes of each read. */
export function readStream(dataFd: number, chunk = 4096): { data: Buffer; reads: string[] } {
  const parts: Buffer[] = [];
  const reads: string[] = [];
  for (let i = 0; i < 64; i++) {
    const buffer = Buffer.alloc(chunk);
    const result = sys.read(dataFd, buffer);
    reads.push(outcome(result));
    if (result.ret <= 0) break;
    parts.push(buffer.subarray(0, result.ret));
  }
  return { data: Buffer.concat(parts), reads };
}

export { sys };
