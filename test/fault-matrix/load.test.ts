/**
 * The load fault matrix on every migrating personality (cases: load-cases.ts): each damaged file, fed as a file
 * and through a pipe, fails with exit code 6 in one line; the destination ends RUNNING with its state digest
 * exactly as before the load (the emulator's reset, like mtty's, keeps the device's own state, so this is also
 * a freshly reset device's digest); the outcome reported is the real one; the device never left RESUMING
 * through STOP (its SET log ends at RESUMING when it entered it, and has no new SET when it was untouched);
 * and a good load afterwards works. One emulator, one source and one destination per personality, reused.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodeOf } from '../../cli/support.js';
import {
  loadDevice,
  openDevices,
  saveDevice,
  VfioError,
  type Device,
  type DeviceOutcome,
  type Endpoint,
} from '../../runtime/index.js';
import { close, F_SETPIPE_SZ, fcntl, O_CLOEXEC, pipe2OrThrow } from '../../runtime/sys/index.js';
import { writeAll } from '../../runtime/stream/fd-io.js';
import { openFdCount, tempDir } from '../runtime/helpers.js';
import { DEVICE_STREAM_HEADER_BYTES, expectedFor, layoutOf, LOAD_CASES, type MatrixPersonality } from './load-cases.js';

const PERSONALITIES: MatrixPersonality[] = ['mtty', 'hisi-acc', 'mlx5'];
const tmp = tempDir();
const devices = new Map<MatrixPersonality, { source: Device; destination: Device; good: Buffer }>();

beforeAll(async () => {
  const opened = await openDevices(
    PERSONALITIES.flatMap((p) => [`emulated:${p}`, `emulated:${p}`]),
    {
      stateSize: 64 << 10,
    },
  );
  for (const [i, p] of PERSONALITIES.entries()) {
    const source = opened[2 * i]!;
    const destination = opened[2 * i + 1]!;
    await saveDevice(source, tmp.file(`${p}.vfio`), { finalState: 'RUNNING' });
    devices.set(p, { source, destination, good: readFileSync(tmp.file(`${p}.vfio`)) });
  }
});
afterAll(async () => {
  for (const { source, destination } of devices.values()) {
    await source.close();
    await destination.close();
  }
  tmp.remove();
});

/** The bytes through a pipe, written whole before the load reads them (every file here fits in 1 MiB). */
function pipeOf(bytes: Buffer): Endpoint {
  expect(bytes.length).toBeLessThan(1 << 20);
  const [readEnd, writeEnd] = pipe2OrThrow(O_CLOEXEC);
  fcntl(writeEnd, F_SETPIPE_SZ, 1 << 20);
  writeAll(writeEnd, bytes, bytes.length, { eintr: 0, eagain: 0, enomsg: 0 });
  close(writeEnd);
  return { fd: readEnd, name: 'the pipe', seekable: false, size: 0, close: () => void close(readEnd) };
}

const table = PERSONALITIES.flatMap((personality) =>
  LOAD_CASES.flatMap((c) => (['file', 'pipe'] as const).map((feed) => ({ personality, c, feed }))),
);

describe.each(PERSONALITIES)('%s', (personality) => {
  it.each(table.filter((t) => t.personality === personality).map((t) => [`${t.c.name}, as a ${t.feed}`, t] as const))(
    '%s',
    async (_name, { c, feed }) => {
      const { destination, good } = devices.get(personality)!;
      const layout = layoutOf(good, DEVICE_STREAM_HEADER_BYTES[personality]);
      const bad = c.damage(good, layout);
      const expected = expectedFor(c, feed, personality);
      const before = (await destination.snapshot())!;
      const fds = openFdCount();
      let input: string | Endpoint;
      if (feed === 'file') {
        input = tmp.file(`${personality}-bad.vfio`);
        writeFileSync(input, bad);
      } else input = pipeOf(bad);

      const e = await loadDevice(destination, input).then(
        () => null,
        (x: unknown) => x,
      );
      if (typeof input !== 'string') input.close();

      expect(e, 'the damaged load must fail').toBeInstanceOf(VfioError);
      const err = e as VfioError;
      expect(err.kind).toBe('bad-stream');
      expect(exitCodeOf(err)).toBe(6);
      expect(err.message).toMatch(expected.message);
      expect(err.message).not.toContain('\n');
      const after = (await destination.snapshot())!;
      expect(after.state).toBe('RUNNING');
      expect(after.digest).toBe(before.digest);
      expect(after.openDataFds).toBe(0);
      const reported: DeviceOutcome = {
        role: 'destination',
        device: `emulated:${personality}`,
        state: 'RUNNING',
        action: expected.action,
      };
      expect(err.outcome).toEqual([reported]);
      const sets = after.requests.filter((r) => r.seq > (before.requests.at(-1)?.seq ?? 0)).map((r) => r.state);
      if (expected.action === 'untouched') expect(sets).toEqual([]);
      else expect(sets.at(-1)).toBe('RESUMING');
      expect(openFdCount()).toBe(fds);
    },
  );

  it('then a good load works and the destination takes the source state', async () => {
    const { source, destination } = devices.get(personality)!;
    const r = await loadDevice(destination, tmp.file(`${personality}.vfio`));
    expect(r.outcome).toEqual([
      { role: 'destination', device: `emulated:${personality}`, state: 'RUNNING', action: 'completed' },
    ]);
    expect(r.verified).toBe('before-device');
    expect((await destination.snapshot())!.digest).toBe((await source.snapshot())!.digest);
  });
});
