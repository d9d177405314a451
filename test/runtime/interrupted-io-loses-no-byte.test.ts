/** EINTR, EAGAIN and short reads on the data fd lose no byte: the round trip still verifies. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadDevice, migrate, openDevices, saveDevice, type Device } from '../../runtime/index.js';
import { tempDir } from './helpers.js';

const tmp = tempDir();
let d: Device[] = [];
beforeAll(async () => {
  d = await openDevices(['emulated:mlx5', 'emulated:mlx5', 'emulated:mlx5+short-reads', 'emulated:mlx5'], {
    stateSize: 2 << 20,
    seed: 40,
  });
});
afterAll(async () => {
  for (const x of d) await x.close();
  tmp.remove();
});

it('EINTR and EAGAIN on reads and writes are retried', async () => {
  const emu = d[0]!.emulator!.handle;
  await emu.inject(0, { kind: 'EINTR', on: 'read', times: 3 });
  await emu.inject(0, { kind: 'EAGAIN', on: 'read', times: 3 });
  const saved = await saveDevice(d[0]!, tmp.file('a.vfio'), { finalState: 'RUNNING' });
  expect(saved.io.eintr + saved.io.eagain).toBeGreaterThanOrEqual(6);
  const digest = (await d[0]!.snapshot())!.digest;
  await emu.inject(1, { kind: 'EINTR', on: 'write', times: 2 });
  await emu.inject(1, { kind: 'EAGAIN', on: 'write', times: 2 });
  const loaded = await loadDevice(d[1]!, tmp.file('a.vfio'));
  expect(loaded.streamBytes).toBe(saved.totalBytes);
  expect((await d[1]!.snapshot())!.digest).toBe(digest);
});

it('short reads (4093-byte chunks) are reassembled into the same stream', async () => {
  const r = await migrate(d[2]!, d[3]!);
  expect(r.verification.equal).toBe(true);
  expect(r.totalBytes).toBeGreaterThan(2 << 20);
});
