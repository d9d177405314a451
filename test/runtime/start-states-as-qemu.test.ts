/**
 * Start states as QEMU treats them (hw/vfio/migration.c vfio_save_setup: RUNNING pre-copies, STOP goes straight
 * to STOP_COPY, anything else is "Invalid device state"): a stopped device is saved without being restarted,
 * a running one pre-copies, and a device in the middle of a migration (PRE_COPY, STOP_COPY, RESUMING) is refused
 * before any SET — save and load alike — with its half-written data left alone.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { exitCodeOf } from '../../cli/support.js';
import {
  loadDevice,
  migrate,
  MigrationSession,
  openDevices,
  saveDevice,
  VfioError,
  type Device,
} from '../../runtime/index.js';
import { tempDir } from './helpers.js';

const tmp = tempDir();
let mtty: Device, mlx5: Device, other: Device, destination: Device;
beforeAll(async () => {
  [mtty, mlx5, other, destination] = await openDevices(
    ['emulated:mtty', 'emulated:mlx5', 'emulated:mtty', 'emulated:mlx5'],
    { stateSize: 256 << 10 },
  );
});
afterAll(async () => {
  for (const d of [mtty, mlx5, other, destination]) await d.close();
  tmp.remove();
});

/** The SET requests a device received since `from` (from the emulator's log). */
async function setsSince(device: Device, from: { requests: { seq: number }[] }): Promise<string[]> {
  const last = from.requests.at(-1)?.seq ?? 0;
  return (await device.snapshot())!.requests.filter((r) => r.seq > last).map((r) => r.state);
}

it('from STOP: no pre-copy, the device is never restarted, and a second save does the same', async () => {
  const s = MigrationSession.open(mtty);
  s.moveTo('STOP');
  s.close();
  for (const round of [1, 2]) {
    const before = (await mtty.snapshot())!;
    const r = await saveDevice(mtty, tmp.file(`stopped-${round}.vfio`));
    expect(r.startState).toBe('STOP');
    expect(r.rounds).toBe(0);
    expect(r.precopyBytes).toBe(0);
    expect(r.stopCopyBytes).toBe(96);
    expect(await setsSince(mtty, before)).toEqual(['STOP_COPY', 'STOP']);
    expect(mtty.state()).toBe('STOP');
    expect(r.outcome).toEqual([{ role: 'source', device: 'emulated:mtty', state: 'STOP', action: 'completed' }]);
  }
  expect(readFileSync(tmp.file('stopped-2.vfio')).length).toBeGreaterThan(96);
});

it('from RUNNING_P2P: pre-copy through PRE_COPY_P2P', async () => {
  const s = MigrationSession.open(mlx5);
  s.moveTo('RUNNING_P2P');
  s.close();
  const before = (await mlx5.snapshot())!;
  const r = await saveDevice(mlx5, tmp.file('p2p.vfio'), { finalState: 'RUNNING' });
  expect(r.startState).toBe('RUNNING_P2P');
  expect(r.rounds).toBeGreaterThan(0);
  expect(await setsSince(mlx5, before)).toEqual(['PRE_COPY_P2P', 'STOP_COPY', 'STOP', 'RUNNING_P2P', 'RUNNING']);
});

it('migrate from a stopped source: no pre-copy, the destination runs the source state', async () => {
  const s = MigrationSession.open(mlx5);
  s.moveTo('STOP');
  s.close();
  const r = await migrate(mlx5, destination);
  expect(r.startState).toBe('STOP');
  expect(r.rounds).toBe(0);
  expect(r.verification.equal).toBe(true);
  const back = MigrationSession.open(mlx5);
  back.moveTo('RUNNING');
  back.close();
});

it.each(['PRE_COPY', 'STOP_COPY', 'RESUMING'] as const)(
  'a device left in %s is refused by save and load before any SET, its state left alone',
  async (state) => {
    await saveDevice(other, tmp.file('good.vfio'), { finalState: 'RUNNING' });
    const s = MigrationSession.open(other);
    s.moveTo(state);
    // A half-written RESUMING: the first 24 bytes (a good mtty header) of a stream, never committed.
    if (state === 'RESUMING') {
      const file = readFileSync(tmp.file('good.vfio'));
      const header = file.readUInt16LE(10); // FORMAT.md: the header's length
      s.writeData(file.subarray(header, header + 24));
    }
    const before = (await other.snapshot())!;
    for (const run of [
      () => saveDevice(other, tmp.file('never.vfio')),
      () => loadDevice(other, tmp.file('good.vfio')),
    ]) {
      const e = (await run().catch((x: unknown) => x)) as VfioError;
      expect(e).toBeInstanceOf(VfioError);
      expect(e.kind).toBe('refused');
      expect(exitCodeOf(e)).toBe(5);
      expect(e.message).toMatch(new RegExp(`^emulated:mtty is in ${state}; a (save|load) starts from `));
      expect(e.outcome).toEqual([
        { role: expect.stringMatching(/source|destination/), device: 'emulated:mtty', state, action: 'untouched' },
      ]);
    }
    const after = (await other.snapshot())!;
    expect(after.requests).toEqual(before.requests);
    expect(after.state).toBe(state);
    expect(after.digest).toBe(before.digest);
    // The refused save left no output behind.
    expect(() => readFileSync(tmp.file('never.vfio'))).toThrow(/ENOENT/);
    s.recover('test cleanup');
    s.close();
    expect(other.state()).toBe('RUNNING');
  },
);
