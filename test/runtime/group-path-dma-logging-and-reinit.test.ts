/**
 * The runtime on the legacy group/container path, DMA logging through a session, and the PRECOPY_INFOv2
 * opt-in with REINIT — all against the emulated mlx5, through the same code path a real device takes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MigrationSession, openDevice, VfioError, type Device } from '../../runtime/index.js';
import { startEmulator } from '../../runtime/emulator/index.js';
import type { EmulatorHandle } from '../../runtime/emulator/api.js';
import { errnoName, lastErrno, read } from '../../runtime/sys/index.js';

let emu: EmulatorHandle;
let device: Device;
beforeAll(async () => {
  emu = await startEmulator({ devices: [{ personality: 'mlx5', stateSize: 1 << 20 }] });
  const d = emu.devices[0]!;
  device = await openDevice({ group: d.groupPath, name: d.groupDeviceName, container: emu.containerPath });
});
afterAll(async () => {
  await device.close();
  await emu.stop();
});

describe('legacy group/container path', () => {
  it('opens the device through the container and group, and answers info and migration', () => {
    expect(device.info().num_regions).toBeGreaterThan(0);
    expect(device.migration()?.capsKey).toBe('STOP_COPY+P2P+PRE_COPY');
    expect(device.state()).toBe('RUNNING');
  });
});

describe('DMA logging through a session', () => {
  it('starts, reports a bitmap of dirtied pages, refuses bad arguments with the spec errno, and stops', () => {
    const s = MigrationSession.open(device);
    const iova = 0x100000n;
    const length = 64n * 4096n;
    expect(s.startDmaLogging([{ iova, length }])).toBe(4096n);
    const bitmap = s.reportDmaLogging(iova, length);
    expect(bitmap.length).toBe(8); // 64 pages → one u64
    // The emulated mlx5 was busy before logging started: every other page of the first 16 is dirty.
    const first = bitmap.readBigUInt64LE(0);
    expect(first & 0x5555n).toBe(0x5555n);
    // Reported pages are cleared from the device's log (dma_logging.report.bits).
    const second = s.reportDmaLogging(iova, length).readBigUInt64LE(0);
    expect(second & first & 0x5555n).not.toBe(0x5555n);
    // page_size must be a power of two of at least 4096 (dma_logging.report.page_size).
    let err: unknown;
    try {
      s.reportDmaLogging(iova, length, 1000n);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VfioError);
    expect((err as VfioError).errnoName).toBe('EINVAL');
    s.stopDmaLogging();
    s.close();
  });
});

describe('PRECOPY_INFOv2 and REINIT', () => {
  it('sends no opt-in unless asked (as QEMU), so PRECOPY_INFO never reports REINIT', () => {
    const s = MigrationSession.open(device);
    expect(s.precopyV2).toBe(false);
    s.moveTo('PRE_COPY');
    const buf = Buffer.alloc(1 << 20);
    while (read(s.dataFd, buf, buf.length) > 0);
    expect(s.precopyInfo().reinit).toBe(false);
    expect(s.report.reinits).toBe(0);
    s.moveTo('RUNNING');
    s.close();
  });

  it('opts in when asked, reports REINIT once the initial data is read, with fresh initial bytes', () => {
    const s = MigrationSession.open(device, { precopyInfoV2: true });
    expect(s.precopyV2).toBe(true);
    s.moveTo('PRE_COPY');
    const first = s.precopyInfo();
    expect(first.reinit).toBe(false);
    expect(first.initialBytes).toBeGreaterThan(0n);
    // Drain what the device offers now; the emulated mlx5 then re-initialises its initial data once.
    const buf = Buffer.alloc(1 << 20);
    for (;;) {
      const n = read(s.dataFd, buf, buf.length);
      if (n === 0) break;
      if (n < 0) {
        expect(errnoName(lastErrno())).toBe('ENOMSG'); // the temporary end of the pre-copy stream
        break;
      }
    }
    const after = s.precopyInfo();
    expect(after.reinit).toBe(true);
    expect(after.initialBytes).toBeGreaterThan(0n);
    expect(after.dirtyBytes).toBe(0n);
    expect(s.report.reinits).toBe(1);
    s.moveTo('RUNNING');
    expect(device.state()).toBe('RUNNING');
    s.close();
  });
});
