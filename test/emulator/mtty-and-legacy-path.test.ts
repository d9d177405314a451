/**
 * mtty personality through the container/group path, against what real mtty on Linux 6.12 answered
 * (and 7.3: the mtty routes of `npm run test:kernel`), plus the feature-header checks in the kernel's order.
 */
import { closeSync, openSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  VFIO_CHECK_EXTENSION,
  VFIO_DEVICE_GET_INFO,
  VFIO_DEVICE_GET_REGION_INFO,
  VFIO_DEVICE_RESET,
  VFIO_GET_API_VERSION,
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_GROUP_GET_STATUS,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_SET_IOMMU,
} from '../../generated/constants.js';
import { featureFlags } from '../../generated/validators.js';
import { lseekOrThrow } from '../../runtime/sys/libc.js';
import { pread, write } from '../../runtime/sys/libc.js';
import { startEmulator, type EmulatorHandle } from '../../runtime/emulator/index.js';
import { MTTY_MAGIC } from '../../runtime/emulator/personalities/mtty.js';
import {
  dataSize,
  feature,
  getState,
  openViaGroup,
  precopyInfo,
  rawFeature,
  rawIoctl,
  readAll,
  readOnce,
  result,
  setState,
  State,
  writeAll,
} from './raw.js';

let emu: EmulatorHandle;
let source: number;
let destination: number;

beforeAll(async () => {
  emu = await startEmulator({ devices: [{ personality: 'mtty' }, { personality: 'mtty' }, { personality: 'mtty' }] });
});
afterAll(() => emu.stop());

describe('container and group', () => {
  it('answers the legacy open sequence with the spec errnos', () => {
    const container = openSync(emu.containerPath, 'r+');
    expect(rawIoctl(container, VFIO_GET_API_VERSION, 0)).toBe(0);
    expect([1, 3, 8].map((e) => rawIoctl(container, VFIO_CHECK_EXTENSION, e))).toEqual([1, 1, 0]);
    expect(rawIoctl(container, VFIO_SET_IOMMU, 3)).toBe('EINVAL'); // container.set_iommu.no_group
    const group = openSync(emu.devices[0]!.groupPath, 'r+');
    const status = Buffer.alloc(8);
    status.writeUInt32LE(8);
    expect(rawIoctl(group, VFIO_GROUP_GET_STATUS, status)).toBe(0);
    expect(status.readUInt32LE(4)).toBe(1); // VIABLE
    // An open fd that is neither a container nor an iommufd: EBADFD, as real 6.12 and 7.3 answer
    // (drivers/vfio/group.c vfio_group_ioctl_set_container); an fd number that is not open: EBADF.
    const notContainer = Buffer.alloc(4);
    notContainer.writeInt32LE(0); // stdin
    expect(rawIoctl(group, VFIO_GROUP_SET_CONTAINER, notContainer)).toBe('EBADFD');
    notContainer.writeInt32LE(99_999);
    expect(rawIoctl(group, VFIO_GROUP_SET_CONTAINER, notContainer)).toBe('EBADF');
    const fdArg = Buffer.alloc(4);
    fdArg.writeInt32LE(container);
    expect(rawIoctl(group, VFIO_GROUP_SET_CONTAINER, fdArg)).toBe(0);
    expect(rawIoctl(group, VFIO_GROUP_SET_CONTAINER, fdArg)).toBe('EINVAL'); // group.set_container.twice
    expect(rawIoctl(group, VFIO_GROUP_GET_STATUS, status)).toBe(0);
    expect(status.readUInt32LE(4)).toBe(3);
    expect(rawIoctl(group, VFIO_GROUP_GET_DEVICE_FD, Buffer.from(emu.devices[0]!.groupDeviceName + '\0'))).toBe(
      'EINVAL',
    ); // no IOMMU yet
    expect(rawIoctl(container, VFIO_SET_IOMMU, 3)).toBe(0);
    expect(rawIoctl(group, VFIO_GROUP_GET_DEVICE_FD, Buffer.from('nope\0'))).toBe('ENODEV');
    source = rawIoctl(group, VFIO_GROUP_GET_DEVICE_FD, Buffer.from(emu.devices[0]!.groupDeviceName + '\0')) as number;
    expect(source).toBeGreaterThanOrEqual(1000); // installed through ADDFD in the reserved range
    const dest = openViaGroup(emu.containerPath, emu.devices[1]!.groupPath, emu.devices[1]!.groupDeviceName);
    destination = dest.device as number;
    expect(destination).toBeGreaterThanOrEqual(1000);
  });

  it('gives fresh state to a new open of the same nodes', () => {
    const again = openViaGroup(emu.containerPath, emu.devices[2]!.groupPath, emu.devices[2]!.groupDeviceName);
    expect(again).toMatchObject({ setContainer: 0, setIommu: 0 });
    closeSync(again.group);
    closeSync(again.container);
    closeSync(again.device as number);
    const reopened = openViaGroup(emu.containerPath, emu.devices[2]!.groupPath, emu.devices[2]!.groupDeviceName);
    expect(reopened.setContainer).toBe(0); // not "already attached"
    expect(lseekOrThrow(reopened.group, 0, 1)).toBeGreaterThan(0);
  });
});

describe('device fd', () => {
  it('GET_INFO writes back min(argsz, 24) bytes; argsz < 16 is EINVAL', () => {
    const info = Buffer.alloc(32, 0xee);
    info.writeUInt32LE(16, 0);
    expect(rawIoctl(source, VFIO_DEVICE_GET_INFO, info)).toBe(0);
    // flags: PCI only, as mtty_get_device_info (samples/vfio-mdev/mtty.c) and the real 7.3 guest (0x2).
    expect([info.readUInt32LE(4), info.readUInt32LE(8), info.readUInt32LE(12)]).toEqual([2, 9, 5]);
    expect(info.readUInt32LE(16)).toBe(0xeeeeeeee); // untouched past argsz
    info.writeUInt32LE(12, 0);
    expect(rawIoctl(source, VFIO_DEVICE_GET_INFO, info)).toBe('EINVAL');
  });

  it('has BAR regions with the UART registers, readable and writable at their offsets', () => {
    const region = Buffer.alloc(32);
    region.writeUInt32LE(32, 0);
    region.writeUInt32LE(1, 8);
    expect(rawIoctl(source, VFIO_DEVICE_GET_REGION_INFO, region)).toBe(0);
    expect(region.readBigUInt64LE(16)).toBe(8n);
    const offset = Number(region.readBigUInt64LE(24));
    expect(offset).toBe(2 ** 40);
    const scratch = Buffer.from([0x5a]);
    expect(result(pwriteOne(source, scratch, offset + 7))).toBe(1);
    const back = Buffer.alloc(1);
    expect(result(pread(source, back, 1, offset + 7))).toBe(1);
    expect(back[0]).toBe(0x5a);
  });
});

function pwriteOne(fd: number, data: Buffer, offset: number): number {
  // libc pwrite through koffi, declared here to keep runtime/sys small.
  return pwriteFn(fd, data, data.length, offset);
}
import koffi from 'koffi';
const pwriteFn = koffi.load('libc.so.6').func('int64_t pwrite(int, const void *, size_t, int64_t)') as (
  fd: number,
  b: Buffer,
  n: number,
  o: number,
) => number;

describe('VFIO_DEVICE_FEATURE header checks in the kernel order', () => {
  it('argsz, unknown bits, GET|SET, unknown index, op, probe, minsz', () => {
    expect(rawFeature(source, 4, featureFlags('VFIO_DEVICE_FEATURE_MIGRATION', 'GET'))).toBe('EINVAL');
    expect(rawFeature(source, 16, (1 << 20) | 1 | 0x10000)).toBe('EINVAL');
    expect(rawFeature(source, 16, 0x30000 | 2)).toBe('EINVAL');
    expect(rawFeature(source, 16, 0x10000 | 13)).toBe('ENOTTY');
    expect(rawFeature(source, 16, 0x60000 | 0)).toBe('ENOTTY'); // PCI_VF_TOKEN has no driver op
    expect(rawFeature(source, 8, featureFlags('VFIO_DEVICE_FEATURE_MIGRATION', 'PROBE_SET'))).toBe('EINVAL');
    expect(rawFeature(source, 8, featureFlags('VFIO_DEVICE_FEATURE_MIGRATION', 'PROBE_GET'))).toBe(0);
    expect(rawFeature(source, 8, 0x70000 | 2)).toBe(0);
    expect(rawFeature(source, 8, featureFlags('VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY', 'PROBE_SET'))).toBe(0);
    expect(rawFeature(source, 8, 0x40000 | 1)).toBe(0); // PROBE alone: supported, payload untouched
    expect(rawFeature(source, 8, 1)).toBe('EINVAL'); // neither GET nor SET
  });

  it('MIGRATION flags 7; MIG_DEVICE_STATE argsz 12 is EINVAL; MIG_DATA_SIZE 96', () => {
    expect(feature(source, 'VFIO_DEVICE_FEATURE_MIGRATION', 'GET', Buffer.alloc(8)).payload.readBigUInt64LE(0)).toBe(
      7n,
    );
    expect(rawFeature(source, 12, featureFlags('VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE', 'GET'))).toBe('EINVAL');
    expect(getState(source)).toEqual({ ret: 0, state: State.RUNNING, dataFd: -1 });
    expect(dataSize(source)).toBe(96n);
  });
});

describe('mtty migration', () => {
  it('PRE_COPY gives 24 header bytes then read() 0, never ENOMSG; STOP_COPY the 72 port bytes', () => {
    const pre = setState(source, State.PRE_COPY);
    expect(pre.ret).toBe(0);
    expect(pre.dataFd).toBeGreaterThanOrEqual(1000);
    expect(precopyInfo(pre.dataFd)).toMatchObject({ ret: 0, initial: 24n, dirty: 0n });
    const head = readAll(pre.dataFd);
    expect(head.data.length).toBe(24);
    expect(head.end).toBe(0);
    expect(head.data.readBigUInt64LE(0)).toBe(MTTY_MAGIC);
    expect(precopyInfo(pre.dataFd)).toMatchObject({ ret: 0, initial: 0n, dirty: 0n });
    expect(result(pread(pre.dataFd, Buffer.alloc(4), 4, 0))).toBe('ESPIPE');
    expect(result(write(pre.dataFd, Buffer.alloc(4), 4))).toBe('EBADF');
    expect(setState(source, State.PRE_COPY_P2P)).toEqual({ ret: 0, state: State.PRE_COPY_P2P, dataFd: -1 });
    expect(setState(source, State.STOP_COPY)).toEqual({ ret: 0, state: State.STOP_COPY, dataFd: -1 });
    expect(precopyInfo(pre.dataFd).ret).toBe('EINVAL');
    expect(rawIoctl(pre.dataFd, 0x3b75, Buffer.alloc(24))).toBe('ENOTTY');
    const ports = readAll(pre.dataFd);
    expect(ports).toMatchObject({ end: 0 });
    expect(ports.data.length).toBe(72);
    expect(readOnce(pre.dataFd).ret).toBe(0);
    expect(setState(source, State.PRE_COPY)).toMatchObject({ ret: 'EINVAL', state: State.PRE_COPY, dataFd: -1 }); // forbidden
    expect(setState(source, State.STOP)).toMatchObject({ ret: 0, dataFd: -1 });
    expect(readOnce(pre.dataFd).ret).toBe('ENODEV');
    expect(precopyInfo(pre.dataFd).ret).toBe('ENODEV');
    closeSync(pre.dataFd);
    (globalThis as { stream?: Buffer }).stream = Buffer.concat([head.data, ports.data]);
  });

  it('the destination takes the stream and ends with the same digest; one byte more is ENOMEM', async () => {
    const stream = (globalThis as { stream?: Buffer }).stream!;
    expect((await emu.snapshot(1)).digest).not.toBe((await emu.snapshot(0)).digest);
    expect(setState(destination, State.STOP).ret).toBe(0);
    const resume = setState(destination, State.RESUMING);
    expect(resume.dataFd).toBeGreaterThanOrEqual(1000);
    expect(readOnce(resume.dataFd).ret).toBe('EBADF');
    expect(result(pread(resume.dataFd, Buffer.alloc(1), 1, 0))).toBe('ESPIPE');
    expect(precopyInfo(resume.dataFd).ret).toBe('ENOTTY'); // a resuming file has no ioctl op
    expect(writeAll(resume.dataFd, stream, 10)).toBe(0);
    expect(writeAll(resume.dataFd, Buffer.alloc(1))).toBe('ENOMEM');
    expect(setState(destination, State.RUNNING)).toMatchObject({ ret: 0, dataFd: -1 });
    expect((await emu.snapshot(1)).digest).toBe((await emu.snapshot(0)).digest);
    closeSync(resume.dataFd);
    expect((await emu.snapshot(1)).openDataFds).toBe(0);
  });

  it('RUNNING → STOP_COPY in one request opens the fd with all 96 bytes', () => {
    expect(setState(source, State.RUNNING).ret).toBe(0);
    const s = setState(source, State.STOP_COPY);
    expect(s.dataFd).toBeGreaterThanOrEqual(1000);
    expect(readAll(s.dataFd)).toMatchObject({ end: 0 });
    expect(setState(source, 99).ret).toBe('EINVAL');
    expect(setState(source, State.ERROR).ret).toBe('EINVAL');
    expect(getState(source).state).toBe(State.STOP_COPY);
    closeSync(s.dataFd);
  });

  it('a corrupt header fails the write with EFAULT; RESUMING → STOP is EINVAL until reset', () => {
    expect(setState(destination, State.STOP).ret).toBe(0);
    const r = setState(destination, State.RESUMING);
    const bad = Buffer.alloc(24);
    bad.writeBigUInt64LE(0x1234n);
    expect(writeAll(r.dataFd, bad)).toBe('EFAULT');
    expect(setState(destination, State.STOP).ret).toBe('EINVAL');
    expect(getState(destination).state).toBe(State.RESUMING);
    expect(rawIoctl(destination, VFIO_DEVICE_RESET, 0)).toBe(0);
    expect(getState(destination).state).toBe(State.RUNNING);
    expect(result(write(r.dataFd, bad, 24))).toBe('ENODEV'); // reset ended the session
    closeSync(r.dataFd);
  });

  it('RESUMING → STOP with an empty or partial stream is EINVAL and stays in RESUMING, like mtty_load_state', () => {
    for (const sent of [Buffer.alloc(0), (globalThis as { stream?: Buffer }).stream!.subarray(0, 24)]) {
      expect(setState(destination, State.STOP).ret).toBe(0);
      const r = setState(destination, State.RESUMING);
      expect(writeAll(r.dataFd, sent)).toBe(0);
      expect(setState(destination, State.STOP).ret).toBe('EINVAL');
      expect(getState(destination).state).toBe(State.RESUMING);
      expect(precopyInfo(r.dataFd).ret).toBe('ENOTTY');
      expect(rawIoctl(destination, VFIO_DEVICE_RESET, 0)).toBe(0);
      closeSync(r.dataFd);
    }
  });

  it('mtty DMA logging is a stateless stub: a second START is accepted, REPORT sets no bit', () => {
    const ranges = Buffer.alloc(16);
    ranges.writeBigUInt64LE(0n, 0);
    ranges.writeBigUInt64LE(1n << 20n, 8);
    const control = Buffer.alloc(24);
    control.writeBigUInt64LE(4096n, 0);
    control.writeUInt32LE(1, 8);
    control.writeBigUInt64LE(koffi.address(ranges) as bigint, 16);
    expect(feature(source, 'VFIO_DEVICE_FEATURE_DMA_LOGGING_START', 'SET', control).ret).toBe(0);
    expect(feature(source, 'VFIO_DEVICE_FEATURE_DMA_LOGGING_START', 'SET', control).ret).toBe(0); // mlx5: EBUSY
    const bitmap = Buffer.alloc(32);
    const report = Buffer.alloc(32);
    report.writeBigUInt64LE(1n << 20n, 8);
    report.writeBigUInt64LE(4096n, 16);
    report.writeBigUInt64LE(koffi.address(bitmap) as bigint, 24);
    expect(feature(source, 'VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT', 'GET', report).ret).toBe(0);
    expect(bitmap.every((b) => b === 0)).toBe(true);
    expect(feature(source, 'VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP', 'SET').ret).toBe(0);
  });
});
