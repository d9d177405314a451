/**
 * The bounds and the AbortSignal hold in the stream worker too (inWorker): its waits for a peer are polls in
 * short slices that watch the transfer's shared cancel flag, so neither a stalled reader nor a stalled sender
 * can keep a save or load past --io-timeout, and an abort stops it at once. The peer here is a socket in this
 * process that accepts and never reads, or connects and never sends.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadDevice, openDevices, saveDevice, VfioError, type Device } from '../../runtime/index.js';
import { tempDir } from './helpers.js';

const tmp = tempDir();
let src: Device;
let dst: Device;
let server: Server;
const held: Socket[] = [];
beforeAll(async () => {
  [src, dst] = await openDevices(['emulated:mlx5', 'emulated:mlx5'], { stateSize: 32 << 20 });
  server = createServer((s) => {
    s.pause();
    held.push(s);
  }).listen(tmp.file('stall.sock'));
  await new Promise((r) => server.once('listening', r));
});
afterAll(async () => {
  for (const s of held) s.destroy();
  server.close();
  await src.close();
  await dst.close();
  tmp.remove();
});

it('save in a worker to a reader that stops: ETIMEDOUT after ioTimeoutMs, the source RUNNING', async () => {
  const e = (await saveDevice(src, `unix:${tmp.file('stall.sock')}`, { inWorker: true, ioTimeoutMs: 300 }).catch(
    (x: unknown) => x,
  )) as VfioError;
  expect(e).toBeInstanceOf(VfioError);
  expect([e.kind, e.errnoName]).toEqual(['io', 'ETIMEDOUT']);
  expect(e.message).toMatch(/the reader took no data for 300 ms/);
  expect(src.state()).toBe('RUNNING');
  expect((await src.snapshot())!.openDataFds).toBe(0);
});

it('save in a worker to a reader that stops: an abort ends it at once, whatever the bound', async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort('SIGTERM'), 300);
  const e = (await saveDevice(src, `unix:${tmp.file('stall.sock')}`, {
    inWorker: true,
    ioTimeoutMs: 3_600_000,
    signal: controller.signal,
  }).catch((x: unknown) => x)) as VfioError;
  expect(e).toBeInstanceOf(VfioError);
  expect(e.kind).toBe('cancelled');
  expect(e.message).toMatch(/^stopped by SIGTERM in (PRE_COPY|STOP_COPY)/);
  expect(src.state()).toBe('RUNNING');
});

it('load in a worker from a sender that stops: ETIMEDOUT after ioTimeoutMs, no data fd left', async () => {
  await saveDevice(src, tmp.file('state.vfio'), { finalState: 'RUNNING' });
  const bytes = readFileSync(tmp.file('state.vfio'));
  const path = tmp.file('load.sock');
  const loading = loadDevice(dst, `unix:${path}`, { inWorker: true, ioTimeoutMs: 300, connectTimeoutMs: 5000 });
  await new Promise((r) => setTimeout(r, 100));
  const sender = createConnection(path, () => sender.write(bytes.subarray(0, bytes.length >> 1)));
  sender.on('error', () => {});
  const e = (await loading.catch((x: unknown) => x)) as VfioError;
  sender.destroy();
  expect(e).toBeInstanceOf(VfioError);
  expect([e.kind, e.errnoName]).toEqual(['io', 'ETIMEDOUT']);
  expect(e.message).toMatch(/the sender sent no data for 300 ms/);
  expect((await dst.snapshot())!.openDataFds).toBe(0);
});
