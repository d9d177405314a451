/**
 * A load's pre-pass on two threads (prepass.ts; VFIO_UAPI_PREPASS_THREADS=2 forces it below PARALLEL_FROM)
 * keeps the commit protocol's promise 2: a file damaged near its end is refused before any SET, the device
 * untouched; the good file loads, verified before the device, and the device holds the source's state.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadDevice, openDevices, saveDevice, VfioError, type Device } from '../../runtime/index.js';
import { TRAILER_SIZE } from '../../runtime/stream/format.js';
import { tempDir } from './helpers.js';

const tmp = tempDir();
let src: Device;
let dst: Device;
const saved = process.env.VFIO_UAPI_PREPASS_THREADS;
beforeAll(async () => {
  process.env.VFIO_UAPI_PREPASS_THREADS = '2';
  [src, dst] = await openDevices(['emulated:mlx5', 'emulated:mlx5'], { stateSize: 40 << 20, seed: 18 });
});
afterAll(async () => {
  if (saved === undefined) delete process.env.VFIO_UAPI_PREPASS_THREADS;
  else process.env.VFIO_UAPI_PREPASS_THREADS = saved;
  await src.close();
  await dst.close();
  tmp.remove();
});

it('a 40 MiB file with a byte flipped 1 MiB before its end is refused before any SET; the good one loads', async () => {
  await saveDevice(src, tmp.file('big.vfio'), { finalState: 'RUNNING', precopy: false });
  const good = readFileSync(tmp.file('big.vfio'));
  const headerBytes = good.readUInt16LE(10);
  const bodyBytes = good.length - headerBytes - TRAILER_SIZE;
  expect(bodyBytes).toBeGreaterThan(40 << 20);
  const damaged = Buffer.from(good);
  damaged[headerBytes + bodyBytes - (1 << 20) + 5]! ^= 0x01;
  writeFileSync(tmp.file('damaged.vfio'), damaged);

  const before = (await dst.snapshot())!;
  const e = (await loadDevice(dst, tmp.file('damaged.vfio')).catch((x: unknown) => x)) as VfioError;
  expect(e).toBeInstanceOf(VfioError);
  expect(e.kind).toBe('bad-stream');
  expect(e.message).toMatch(/damaged\.vfio is damaged: checksum mismatch/);
  expect(e.outcome).toEqual([{ role: 'destination', device: 'emulated:mlx5', state: 'RUNNING', action: 'untouched' }]);
  const after = (await dst.snapshot())!;
  expect(after.requests).toEqual(before.requests);
  expect(after.digest).toBe(before.digest);

  const r = await loadDevice(dst, tmp.file('big.vfio'));
  expect(r.verified).toBe('before-device');
  expect(r.streamBytes).toBe(bodyBytes);
  expect((await dst.snapshot())!.digest).toBe((await src.snapshot())!.digest);
}, 60_000);
