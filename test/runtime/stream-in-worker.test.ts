/**
 * `inWorker`: the read/write loop runs in a worker thread, so this thread's event loop keeps ticking during
 * a 64 MiB save and load, progress still arrives, and the result is the same as in-thread.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadDevice, migrate, openDevices, saveDevice, type Device, type ProgressEvent } from '../../runtime/index.js';
import { checksumOf } from '../../runtime/stream/checksum.js';
import { TRAILER_SIZE } from '../../runtime/stream/format.js';
import { openFdCount, tempDir } from './helpers.js';

const tmp = tempDir();
let devices: Device[] = [];
beforeAll(async () => {
  devices = await openDevices(['emulated:mlx5', 'emulated:mlx5', 'emulated:mlx5'], { stateSize: 64 << 20, seed: 40 });
});
afterAll(async () => {
  for (const d of devices) await d.close();
  tmp.remove();
});

/** Count setInterval ticks while `work` runs. */
async function ticksDuring<T>(work: () => Promise<T>): Promise<{ result: T; ticks: number }> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  try {
    return { result: await work(), ticks };
  } finally {
    clearInterval(timer);
  }
}

it('saves and loads 64 MiB in a worker while the event loop ticks, with progress', async () => {
  const [src, dst] = [devices[0]!, devices[1]!];
  const fdsBefore = openFdCount();
  const file = tmp.file('worker.vfio');
  const saveEvents: ProgressEvent[] = [];
  const save = await ticksDuring(() =>
    saveDevice(src, file, { inWorker: true, finalState: 'RUNNING', onProgress: (e) => saveEvents.push(e) }),
  );
  expect(save.result.totalBytes).toBeGreaterThanOrEqual(64 << 20);
  expect(save.ticks).toBeGreaterThan(3);
  expect(saveEvents.at(-1)!.totalBytes).toBe(save.result.totalBytes);
  expect(saveEvents.some((e) => !e.done && e.totalBytes > 0)).toBe(true);
  const sourceDigest = (await src.snapshot())!.digest;

  const loadEvents: ProgressEvent[] = [];
  const load = await ticksDuring(() =>
    loadDevice(dst, file, { inWorker: true, onProgress: (e) => loadEvents.push(e) }),
  );
  expect(load.ticks).toBeGreaterThan(3);
  expect(load.result.checksum).toBe(save.result.checksum);
  expect(load.result.streamBytes).toBe(save.result.totalBytes);
  expect(loadEvents.at(-1)!.totalBytes).toBe(save.result.totalBytes);
  expect((await dst.snapshot())!.digest).toBe(sourceDigest);
  expect(openFdCount()).toBe(fdsBefore);
}, 60_000);

it("a worker's checksum is this thread's checksum of the same bytes; migrate runs in a worker too", async () => {
  const [src, dst] = [devices[0]!, devices[2]!];
  const file = tmp.file('worker2.vfio');
  const saved = await saveDevice(src, file, { finalState: 'RUNNING', precopy: false, inWorker: true });
  const bytes = readFileSync(file);
  const body = bytes.subarray(bytes.readUInt16LE(10), bytes.length - TRAILER_SIZE);
  expect(body.length).toBe(saved.totalBytes);
  expect(checksumOf(body).toString(16).padStart(16, '0')).toBe(saved.checksum);
  const m = await ticksDuring(() => migrate(src, dst, { inWorker: true, sourceFinalState: 'RUNNING' }));
  expect(m.result.verification.equal).toBe(true);
  expect(m.ticks).toBeGreaterThan(3);
}, 60_000);
