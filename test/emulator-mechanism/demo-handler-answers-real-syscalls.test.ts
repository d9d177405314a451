import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_INFO, DemoIoctl } from './fixtures/demo-handler.js';
import { startSupervisor, type Supervisor } from '../../runtime/emulator/seccomp/supervisor.js';
import {
  Errno,
  fcntl,
  ioctl,
  lastErrno,
  lseekOrThrow,
  close as rawClose,
  isSysError,
} from '../../runtime/sys/index.js';

const demoHandler = new URL('./fixtures/demo-handler.ts', import.meta.url);
const STREAM_BYTES = 3 * (1 << 20) + 512;

let supervisor: Supervisor;
let groupFd: number;

beforeAll(async () => {
  supervisor = await startSupervisor(demoHandler, { handlerOptions: { streamBytes: STREAM_BYTES } });
  groupFd = openSync(join(supervisor.placeholderDir, 'demo-group'), 'r+');
});

afterAll(async () => {
  closeSync(groupFd);
  await supervisor.stop();
});

function infoBuffer(argsz = 24): Buffer {
  const b = Buffer.alloc(24, 0xee);
  b.writeUInt32LE(argsz, 0);
  return b;
}

function openDevice(): number {
  const fd = ioctl(groupFd, DemoIoctl.GET_DEVICE_FD, 0);
  expect(fd, `errno ${lastErrno()}`).toBeGreaterThanOrEqual(1000);
  return fd;
}

function openStream(deviceFd: number, state = 3): number {
  const arg = Buffer.alloc(16);
  arg.writeUInt32LE(16, 0);
  arg.writeUInt32LE(state, 8);
  expect(ioctl(deviceFd, DemoIoctl.SET_STATE, arg)).toBe(0);
  return arg.readInt32LE(12);
}

describe('the demo handler answers through real syscalls', () => {
  it('fills a 24-byte struct for ioctl 0x3B6B on a placeholder node', () => {
    const info = infoBuffer();
    expect(ioctl(groupFd, DemoIoctl.GET_INFO, info)).toBe(0);
    expect(info.readUInt32LE(0)).toBe(24);
    expect(info.readUInt32LE(4)).toBe(DEMO_INFO.flags);
    expect(info.readUInt32LE(8)).toBe(DEMO_INFO.numRegions);
    expect(info.readUInt32LE(12)).toBe(DEMO_INFO.numIrqs);
    expect(info.readUInt32LE(20)).toBe(0);
  });

  it('answers with the errno the handler chose', () => {
    expect(ioctl(groupFd, DemoIoctl.GET_INFO, infoBuffer(4))).toBe(-1);
    expect(lastErrno()).toBe(Errno.EINVAL);
    expect(ioctl(groupFd, 0x3b70, infoBuffer())).toBe(-1);
    expect(lastErrno()).toBe(Errno.ENOTTY);
  });

  it('turns a bad pointer into EFAULT instead of a crash', () => {
    expect(ioctl(groupFd, DemoIoctl.GET_INFO, 16)).toBe(-1);
    expect(lastErrno()).toBe(Errno.EFAULT);
    // Readable but read-only memory would fail on write-back; an unmapped high address fails on read.
    expect(ioctl(groupFd, DemoIoctl.GET_INFO, 0x7ffffffff000n)).toBe(-1);
    expect(lastErrno()).toBe(Errno.EFAULT);
  });
});

describe('fds installed with SECCOMP_IOCTL_NOTIF_ADDFD', () => {
  it('returns a working device fd in the reserved range as the ioctl value', () => {
    const device = openDevice();
    expect(device).toBeLessThan(1100);
    expect(fcntl(device, 1 /* F_GETFD */)).toBe(1); // O_CLOEXEC, as VFIO sets it
    const info = infoBuffer();
    expect(ioctl(device, DemoIoctl.GET_INFO, info)).toBe(0);
    expect(info.readUInt32LE(8)).toBe(DEMO_INFO.numRegions);
    // The close is trapped (reserved range), reported to the handler, then really done.
    expect(rawClose(device)).toBe(0);
    expect(fcntl(device, 1)).toBe(-1);
    expect(lastErrno()).toBe(Errno.EBADF);
    // The number is free again for the next device.
    const again = openDevice();
    expect(again).toBe(device);
    rawClose(again);
  });
});

describe('a pipe-backed data fd', () => {
  it('streams bytes by CONTINUE, then ENOMSG at the temporary end, then 0 for good', () => {
    const device = openDevice();
    const dataFd = openStream(device);
    expect(dataFd).toBeGreaterThanOrEqual(1000);
    const chunk = Buffer.alloc(1 << 20);
    let total = 0;
    const sizes: number[] = [];
    let ends: string[] = [];
    for (let i = 0; i < 100 && ends.length < 3; i++) {
      try {
        const n = readSync(dataFd, chunk, 0, chunk.length, null);
        if (n === 0) {
          ends.push('0');
          continue;
        }
        for (let j = 0; j < n; j += 4099) expect(chunk[j]).toBe((total + j) & 0xff);
        total += n;
        sizes.push(n);
      } catch (e) {
        ends.push((e as NodeJS.ErrnoException).errno === -Errno.ENOMSG ? 'ENOMSG' : String(e));
      }
    }
    expect(total).toBe(STREAM_BYTES);
    expect(ends).toEqual(['ENOMSG', '0', '0']);
    rawClose(dataFd);
    rawClose(device);
  });

  it('reports pending bytes through an ioctl on the data fd and refuses positioned I/O with ESPIPE', () => {
    const device = openDevice();
    const dataFd = openStream(device);
    const info = Buffer.alloc(24);
    info.writeUInt32LE(24, 0);
    expect(ioctl(dataFd, DemoIoctl.STREAM_INFO, info)).toBe(0);
    expect(info.readBigUInt64LE(8)).toBe(BigInt(STREAM_BYTES));
    let error: unknown;
    try {
      lseekOrThrow(dataFd, 0, 0);
    } catch (e) {
      error = e;
    }
    expect(isSysError(error, 'ESPIPE')).toBe(true);
    expect(() => readSync(dataFd, Buffer.alloc(16), 0, 16, 0)).toThrow(/ESPIPE|-29/);
    rawClose(dataFd);
    rawClose(device);
  });
});

describe('a pipe-backed data fd in the other direction', () => {
  it('takes writes by CONTINUE and delivers every byte, in order, to the sink', () => {
    const device = openDevice();
    const dataFd = openStream(device, 5);
    expect(dataFd).toBeGreaterThanOrEqual(1000);
    const chunk = Buffer.alloc(1 << 20);
    for (let i = 0; i < chunk.length; i++) chunk[i] = i & 0xff;
    let written = 0;
    // Larger than the pipe: the writes only complete because the supervisor drains while we write.
    for (let i = 0; i < 5; i++) written += writeSync(dataFd, chunk, 0, chunk.length, null);
    written += writeSync(dataFd, chunk, 0, 1000, null);
    const info = Buffer.alloc(24);
    info.writeUInt32LE(24, 0);
    expect(ioctl(dataFd, DemoIoctl.STREAM_INFO, info)).toBe(0);
    expect(info.readUInt32LE(4)).toBe(1); // pattern held
    expect(Number(info.readBigUInt64LE(8))).toBe(written);
    expect(() => readSync(dataFd, chunk, 0, 16, null)).toThrow(/EBADF/); // a write end, as the kernel says
    rawClose(dataFd);
    rawClose(device);
  });
});

describe('fds the emulator does not own', () => {
  it('pass through by CONTINUE: a real file read in the reserved range, a VFIO ioctl on a real file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'not-emulated-'));
    try {
      const path = join(dir, 'plain');
      writeFileSync(path, 'real bytes');
      const low = openSync(path, 'r');
      const high = fcntl(low, 0 /* F_DUPFD */, 1050); // lands in the trapped range
      expect(high).toBeGreaterThanOrEqual(1050);
      const into = Buffer.alloc(32);
      expect(readSync(high, into, 0, 32, null)).toBe(10);
      expect(into.subarray(0, 10).toString()).toBe('real bytes');
      expect(ioctl(low, DemoIoctl.GET_INFO, infoBuffer())).toBe(-1);
      expect(lastErrno()).toBe(Errno.ENOTTY); // the kernel's answer for a regular file
      closeSync(high);
      closeSync(low);
      const devNull = openSync('/dev/null', 'r+');
      expect(ioctl(devNull, 0x3b79, Buffer.alloc(24))).toBe(-1);
      expect(lastErrno()).toBe(Errno.ENOTTY);
      closeSync(devNull);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('supervisor lifecycle in one process', () => {
  it('can stop and start again, reusing the one filter this process can have', async () => {
    await supervisor.stop();
    // Detached: the old placeholder node is gone and VFIO ioctls now reach the kernel.
    expect(ioctl(groupFd, DemoIoctl.GET_INFO, infoBuffer())).toBe(-1);
    expect(lastErrno()).toBe(Errno.ENOTTY);
    closeSync(groupFd);
    supervisor = await startSupervisor(demoHandler, { handlerOptions: { streamBytes: STREAM_BYTES } });
    groupFd = openSync(join(supervisor.placeholderDir, 'demo-group'), 'r+');
    expect(ioctl(groupFd, DemoIoctl.GET_INFO, infoBuffer())).toBe(0);
    await expect(startSupervisor(demoHandler)).rejects.toThrow(/already running/);
    await expect(startSupervisor(demoHandler, {})).rejects.toThrow(/already running/);
  });
});
