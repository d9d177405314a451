/** mlx5 and hisi-acc personalities through the cdev + iommufd path: records, ENOMSG, dirty data, REINIT, DMA logging, resume checks. */
import { closeSync, openSync } from 'node:fs';
import koffi from 'koffi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  IOMMU_DESTROY,
  IOMMU_IOAS_ALLOC,
  VFIO_DEVICE_ATTACH_IOMMUFD_PT,
  VFIO_DEVICE_BIND_IOMMUFD,
  VFIO_DEVICE_GET_INFO,
  VFIO_DEVICE_RESET,
} from '../../generated/constants.js';
import { startEmulator, type EmulatorHandle } from '../../runtime/emulator/index.js';
import {
  dataSize,
  feature,
  getState,
  openCdevRaw,
  precopyInfo,
  rawIoctl,
  readAll,
  setState,
  State,
  writeAll,
} from './raw.js';

let emu: EmulatorHandle;
const MLX5_SRC = 0,
  MLX5_DST = 1,
  HISI_SRC = 2,
  HISI_DST = 3;
const fds: number[] = [];

beforeAll(async () => {
  emu = await startEmulator({
    devices: [
      { personality: 'mlx5', stateSize: 3 << 20 },
      { personality: 'mlx5' },
      { personality: 'hisi-acc' },
      { personality: 'hisi-acc' },
    ],
  });
  const iommufd = openSync(emu.iommufdPath, 'r+');
  for (const i of [0, 1, 2, 3]) fds.push(openCdevRaw(emu.devices[i]!.cdevPath, iommufd));
});
afterAll(() => emu.stop());

describe('cdev and iommufd', () => {
  it('refuses everything before BIND, checks BIND, IOAS_ALLOC and ATTACH arguments', () => {
    const iommufd = openSync(emu.iommufdPath, 'r+');
    const cdev = openSync(emu.devices[0]!.cdevPath, 'r+');
    expect(rawIoctl(cdev, VFIO_DEVICE_GET_INFO, Buffer.alloc(24))).toBe('EINVAL'); // cdev.unbound
    const bind = Buffer.alloc(24);
    bind.writeUInt32LE(12, 0);
    bind.writeInt32LE(iommufd, 8);
    expect(rawIoctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, bind)).toBe('EINVAL');
    bind.writeUInt32LE(16, 0);
    bind.writeUInt32LE(2, 4);
    expect(rawIoctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, bind)).toBe('EINVAL');
    bind.writeUInt32LE(0, 4);
    bind.writeInt32LE(-1, 8);
    expect(rawIoctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, bind)).toBe('EINVAL');
    bind.writeInt32LE(iommufd, 8);
    expect(rawIoctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, bind)).toBe(0);
    expect(rawIoctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, bind)).toBe('EINVAL'); // once
    const alloc = Buffer.alloc(16);
    alloc.writeUInt32LE(8);
    expect(rawIoctl(iommufd, IOMMU_IOAS_ALLOC, alloc)).toBe('EINVAL');
    alloc.writeUInt32LE(16);
    alloc.writeUInt32LE(1, 12);
    expect(rawIoctl(iommufd, IOMMU_IOAS_ALLOC, alloc)).toBe('E2BIG'); // iommufd.trailing
    alloc.writeUInt32LE(0, 12);
    alloc.writeUInt32LE(1, 4);
    expect(rawIoctl(iommufd, IOMMU_IOAS_ALLOC, alloc)).toBe('EOPNOTSUPP');
    alloc.writeUInt32LE(0, 4);
    expect(rawIoctl(iommufd, IOMMU_IOAS_ALLOC, alloc)).toBe(0);
    const ioas = alloc.readUInt32LE(8);
    const attach = Buffer.alloc(16);
    attach.writeUInt32LE(8, 0);
    expect(rawIoctl(cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, attach)).toBe('EINVAL');
    attach.writeUInt32LE(12, 0);
    attach.writeUInt32LE(4, 4);
    expect(rawIoctl(cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, attach)).toBe('EINVAL');
    attach.writeUInt32LE(0, 4);
    attach.writeUInt32LE(ioas, 8);
    expect(rawIoctl(cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, attach)).toBe(0);
    expect(attach.readUInt32LE(8)).toBe(ioas);
    const destroy = Buffer.alloc(8);
    destroy.writeUInt32LE(8);
    destroy.writeUInt32LE(ioas, 4);
    expect(rawIoctl(iommufd, IOMMU_DESTROY, destroy)).toBe(0);
    expect(rawIoctl(iommufd, IOMMU_DESTROY, destroy)).toBe('ENOENT');
    closeSync(cdev);
    closeSync(iommufd);
  });
});

describe('mlx5', () => {
  it('streams records: ENOMSG at the temporary end, dirty data that grows, REINIT after the v2 opt-in', async () => {
    const dev = fds[MLX5_SRC]!;
    expect(feature(dev, 'VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2', 'SET').ret).toBe(0);
    const pre = setState(dev, State.PRE_COPY);
    const info0 = precopyInfo(pre.dataFd);
    expect(info0).toMatchObject({ ret: 0, flags: 0, dirty: 0n });
    expect(info0.initial).toBe(BigInt((3 << 20) + 48));
    const parts: Buffer[] = [];
    let r = readAll(pre.dataFd);
    expect(r.end).toBe('ENOMSG');
    parts.push(r.data);
    expect(r.data.readUInt32LE(12)).toBe(0); // tag 0
    expect(r.data.readBigUInt64LE(0)).toBe(BigInt((3 << 20) + 32));
    const reinit = precopyInfo(pre.dataFd, 24, 0xff);
    expect(reinit).toMatchObject({ ret: 0, flags: 1, dirty: 0n }); // REINIT: initial restarts non-zero
    expect(reinit.initial).toBeGreaterThan(0n);
    parts.push(readAll(pre.dataFd).data);
    const grown = precopyInfo(pre.dataFd);
    expect(grown).toMatchObject({ flags: 0, initial: 0n });
    expect(grown.dirty).toBeGreaterThan(0n);
    r = readAll(pre.dataFd);
    expect(BigInt(r.data.length)).toBe(grown.dirty);
    parts.push(r.data);
    expect(setState(dev, State.STOP_COPY)).toMatchObject({ ret: 0, dataFd: -1 });
    r = readAll(pre.dataFd);
    expect(r.end).toBe(0);
    parts.push(r.data);
    const stream = Buffer.concat(parts);

    const dst = fds[MLX5_DST]!;
    expect((await emu.snapshot(MLX5_DST)).digest).not.toBe((await emu.snapshot(MLX5_SRC)).digest);
    const opened = setState(dst, State.RESUMING);
    expect(opened.dataFd).toBeGreaterThanOrEqual(1000);
    closeSync(opened.dataFd);
    const resume = getState(dst);
    expect(resume.state).toBe(State.RESUMING);
    const w = setState(dst, State.RESUMING); // already there: no new fd
    expect(w.dataFd).toBe(-1);
    closeSync(pre.dataFd);
  });

  it('the destination verifies the full stream and ends equal; a bad record leaves it in ERROR until reset', async () => {
    const src = fds[MLX5_SRC]!;
    const dst = fds[MLX5_DST]!;
    expect(rawIoctl(dst, VFIO_DEVICE_RESET, 0)).toBe(0);
    expect(setState(src, State.STOP).ret).toBe(0);
    const out = setState(src, State.STOP_COPY);
    const { data, end } = readAll(out.dataFd);
    expect(end).toBe(0);
    expect(BigInt(data.length)).toBe(dataSize(src));
    const resume = setState(dst, State.RESUMING);
    expect(writeAll(resume.dataFd, data, 777_777)).toBe(0);
    expect(setState(dst, State.STOP)).toMatchObject({ ret: 0, dataFd: -1 });
    expect((await emu.snapshot(MLX5_DST)).digest).toBe((await emu.snapshot(MLX5_SRC)).digest);

    const corrupt = Buffer.from(data);
    corrupt[100_000] = corrupt[100_000]! ^ 1;
    const again = setState(dst, State.RESUMING);
    expect(writeAll(again.dataFd, corrupt)).toBe('EFAULT');
    expect(setState(dst, State.STOP).ret).toBe('EFAULT');
    expect(getState(dst).state).toBe(State.ERROR);
    expect(setState(dst, State.RUNNING).ret).toBe('EINVAL');
    expect(rawIoctl(dst, VFIO_DEVICE_RESET, 0)).toBe(0);
    const unknownTag = Buffer.alloc(16);
    unknownTag.writeUInt32LE(7, 12);
    expect(setState(dst, State.STOP).ret).toBe(0);
    const third = setState(dst, State.RESUMING);
    expect(writeAll(third.dataFd, unknownTag)).toBe('EOPNOTSUPP');
    expect(rawIoctl(dst, VFIO_DEVICE_RESET, 0)).toBe(0);
    for (const fd of [out.dataFd, resume.dataFd, again.dataFd, third.dataFd]) closeSync(fd);
    expect((await emu.snapshot(MLX5_DST)).openDataFds).toBe(0);
  });

  it('DMA logging: argument errnos, a bitmap of written pages, cleared once reported', () => {
    const dev = fds[MLX5_SRC]!;
    const ranges = Buffer.alloc(16 * 300);
    const control = Buffer.alloc(24);
    const start = (pageSize: bigint, list: [bigint, bigint][]) => {
      list.forEach(([iova, len], i) => {
        ranges.writeBigUInt64LE(iova, i * 16);
        ranges.writeBigUInt64LE(len, i * 16 + 8);
      });
      control.writeBigUInt64LE(pageSize, 0);
      control.writeUInt32LE(list.length, 8);
      control.writeBigUInt64LE(koffi.address(ranges) as bigint, 16);
      return feature(dev, 'VFIO_DEVICE_FEATURE_DMA_LOGGING_START', 'SET', control).ret;
    };
    expect(start(4096n, [])).toBe('EINVAL');
    expect(
      start(
        4096n,
        Array.from({ length: 257 }, (_, i) => [BigInt(i) << 20n, 4096n] as [bigint, bigint]),
      ),
    ).toBe('E2BIG');
    expect(start(4096n, [[100n, 4096n]])).toBe('EINVAL');
    expect(start(4096n, [[(1n << 64n) - 4096n, 8192n]])).toBe('EOVERFLOW');
    expect(
      start(4096n, [
        [0n, 1n << 20n],
        [4096n, 4096n],
      ]),
    ).toBe('EINVAL');
    expect(start(4096n, [[0n, 1n << 20n]])).toBe(0);
    expect(start(4096n, [[0n, 1n << 20n]])).toBe('EBUSY');
    const bitmap = Buffer.alloc(32);
    const report = Buffer.alloc(32);
    const doReport = (pageSize: bigint) => {
      report.writeBigUInt64LE(0n, 0);
      report.writeBigUInt64LE(1n << 20n, 8);
      report.writeBigUInt64LE(pageSize, 16);
      report.writeBigUInt64LE(koffi.address(bitmap) as bigint, 24);
      return feature(dev, 'VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT', 'GET', report).ret;
    };
    expect(doReport(1000n)).toBe('EINVAL');
    expect(doReport(4096n)).toBe(0);
    expect(bitmap.readBigUInt64LE(0)).toBe(0x5555n); // pages 0, 2, 4, ... 14
    bitmap.fill(0);
    expect(doReport(4096n)).toBe(0);
    expect(bitmap.readBigUInt64LE(0)).toBe(0n); // reported pages were cleared (the device is stopped)
    expect(feature(dev, 'VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP', 'SET').ret).toBe(0);
  });
});

describe('hisi-acc', () => {
  it('flags 5, 40-byte prefix in PRE_COPY, 176 bytes in STOP_COPY, resume ENOMEM/EFAULT', async () => {
    const src = fds[HISI_SRC]!;
    const dst = fds[HISI_DST]!;
    expect(feature(src, 'VFIO_DEVICE_FEATURE_MIGRATION', 'GET', Buffer.alloc(8)).payload.readBigUInt64LE(0)).toBe(5n);
    expect(dataSize(src)).toBe(176n);
    expect(setState(src, State.RUNNING_P2P).ret).toBe('EINVAL');
    expect(feature(src, 'VFIO_DEVICE_FEATURE_DMA_LOGGING_START', 'PROBE_SET').ret).toBe('ENOTTY');
    const pre = setState(src, State.PRE_COPY);
    expect(precopyInfo(pre.dataFd)).toMatchObject({ initial: 40n, dirty: 0n });
    const prefix = readAll(pre.dataFd);
    expect([prefix.data.length, prefix.end]).toEqual([40, 0]);
    expect(setState(src, State.STOP_COPY)).toMatchObject({ ret: 0, dataFd: -1 }); // one arc without P2P
    const rest = readAll(pre.dataFd);
    expect(rest.data.length).toBe(136);
    const stream = Buffer.concat([prefix.data, rest.data]);
    expect(setState(dst, State.RESUMING).ret).toBe(0);
    let r = setState(dst, State.STOP);
    const resume = setState(dst, State.RESUMING);
    expect(writeAll(resume.dataFd, Buffer.concat([stream, Buffer.alloc(1)]))).toBe('ENOMEM');
    expect(writeAll(resume.dataFd, stream)).toBe(0);
    expect(setState(dst, State.STOP).ret).toBe(0);
    expect((await emu.snapshot(HISI_DST)).digest).toBe((await emu.snapshot(HISI_SRC)).digest);
    const bad = Buffer.from(stream);
    bad[0] = bad[0]! ^ 0xff;
    const again = setState(dst, State.RESUMING);
    expect(writeAll(again.dataFd, bad)).toBe(0);
    r = setState(dst, State.STOP);
    expect(r.ret).toBe('EFAULT');
    expect(getState(dst).state).toBe(State.ERROR);
    expect(rawIoctl(dst, VFIO_DEVICE_RESET, 0)).toBe(0);
    expect(getState(dst).state).toBe(State.RUNNING);
  });
});
