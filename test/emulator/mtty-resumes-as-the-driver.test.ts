/**
 * The emulated mtty resumes as samples/vfio-mdev/mtty.c does (mtty_resume_write, mtty_load_state, mtty_reset;
 * torvalds/linux 06ed87b3), checked with raw calls:
 *  - the write that completes the 24-byte header checks magic, major 1, minor 0, the port count and flags 0,
 *    and answers EFAULT if any differs — whether the header comes in one write or several;
 *  - the refused bytes still count: with the whole 96-byte state written, RESUMING -> STOP loads the ports
 *    (the driver does not look at the header again) — which is why the runtime resets, never commits, a
 *    destination that refused anything;
 *  - with fewer bytes, RESUMING -> STOP fails with EINVAL and the device stays in RESUMING;
 *  - a write past the state's size fails with ENOMEM;
 *  - VFIO_DEVICE_RESET gives RUNNING and leaves the UART registers as they were.
 * test/kernel's real mtty guests check the same facts on Linux 6.12 and 7.3.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MigrationSession, openDevices, saveStream, type Device } from '../../runtime/index.js';
import { errnoName, write } from '../../runtime/sys/index.js';
import { result } from './raw.js';

let source: Device;
let destination: Device;
let stream: Buffer;
beforeAll(async () => {
  [source, destination] = await openDevices(['emulated:mtty', 'emulated:mtty']);
  const parts: Buffer[] = [];
  const s = MigrationSession.open(source);
  await saveStream(s, { write: (b, n) => void parts.push(Buffer.from(b.subarray(0, n))) }, { finalState: 'RUNNING' });
  s.close();
  stream = Buffer.concat(parts);
  expect(stream.length).toBe(96);
});
afterAll(async () => {
  await source.close();
  await destination.close();
});

/** Put the destination in RESUMING and return its data fd (the session is kept only for the fd). */
function resuming(): { fd: number; session: MigrationSession } {
  const session = MigrationSession.open(destination);
  session.moveTo('RESUMING');
  return { fd: session.dataFd, session };
}

function writeRaw(fd: number, bytes: Buffer): string | number {
  return result(write(fd, bytes, bytes.length));
}

function done(session: MigrationSession): void {
  session.closeDataFd();
  destination.reset();
  expect(destination.state()).toBe('RUNNING');
}

const FIELDS = [
  ['magic', 0],
  ['major version', 8],
  ['minor version', 12],
  ['port count', 16],
  ['flags', 20],
] as const;

it.each(FIELDS)('a wrong %s fails the header write with EFAULT, in one write or two', (_field, offset) => {
  const bad = Buffer.from(stream.subarray(0, 24));
  bad[offset] = bad[offset]! ^ 0x01;
  for (const split of [24, 12]) {
    const { fd, session } = resuming();
    const first = writeRaw(fd, bad.subarray(0, split));
    const second = split < 24 ? writeRaw(fd, bad.subarray(split)) : null;
    expect([first, second]).toEqual(split < 24 ? [12, 'EFAULT'] : ['EFAULT', null]);
    done(session);
  }
});

it('refused header bytes still count: with the whole state written, leaving RESUMING loads the ports', async () => {
  const before = (await destination.snapshot())!.digest;
  const target = (await source.snapshot())!.digest;
  expect(before).not.toBe(target);
  const bad = Buffer.from(stream);
  bad[12] = bad[12]! ^ 0x01; // minor version
  const { fd, session } = resuming();
  expect(writeRaw(fd, bad)).toBe('EFAULT');
  const r = destination.setStateRaw('STOP');
  expect(r.ok).toBe(true);
  expect((await destination.snapshot())!.digest).toBe(target);
  done(session);
});

it('with fewer bytes than the state, RESUMING -> STOP fails with EINVAL and the device stays RESUMING', async () => {
  const before = (await destination.snapshot())!.digest;
  const bad = Buffer.from(stream.subarray(0, 24));
  bad[20] = 1; // flags
  const { fd, session } = resuming();
  expect(writeRaw(fd, bad)).toBe('EFAULT');
  expect(writeRaw(fd, stream.subarray(24, 60))).toBe(36); // later writes are not checked again
  const r = destination.setStateRaw('STOP');
  expect(r.ok ? 'ok' : errnoName(r.errno)).toBe('EINVAL');
  expect(destination.state()).toBe('RESUMING');
  done(session);
  expect((await destination.snapshot())!.digest).toBe(before);
});

it('a write past the state size fails with ENOMEM and counts nothing', () => {
  const { fd, session } = resuming();
  expect(writeRaw(fd, stream)).toBe(96);
  expect(writeRaw(fd, Buffer.alloc(1))).toBe('ENOMEM');
  expect(destination.setStateRaw('STOP').ok).toBe(true);
  session.closeDataFd();
  expect(destination.setStateRaw('RUNNING').ok).toBe(true);
});

it('VFIO_DEVICE_RESET leaves the UART registers as they were', async () => {
  const before = (await destination.snapshot())!.digest;
  const { session } = resuming();
  done(session);
  expect((await destination.snapshot())!.digest).toBe(before);
});
