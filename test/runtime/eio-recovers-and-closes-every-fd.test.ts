/** A failing arc leads to QEMU-style recovery (recovery state, else reset) with every fd closed. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  loadDevice,
  MigrationSession,
  openDevices,
  saveDevice,
  saveStream,
  VfioError,
  type Device,
} from '../../runtime/index.js';
import { openFdCount, tempDir } from './helpers.js';

const tmp = tempDir();
let d: Device[] = [];
beforeAll(async () => {
  d = await openDevices(['emulated:mlx5', 'emulated:hisi-acc', 'emulated:mtty+resume-rejects', 'emulated:mtty'], {
    stateSize: 1 << 20,
  });
});
afterAll(async () => {
  for (const x of d) await x.close();
  tmp.remove();
});

it('EIO on PRE_COPY_P2P -> STOP_COPY: data fd closed, device back in RUNNING, fds before = after', async () => {
  const dev = d[0]!;
  const fds = openFdCount();
  await dev.emulator!.handle.inject(0, { kind: 'EIO', arc: { from: 'PRE_COPY_P2P', to: 'STOP_COPY' } });
  const s = MigrationSession.open(dev);
  const e = await saveStream(s, { write() {} }).catch((x: unknown) => x as VfioError);
  expect(e).toBeInstanceOf(VfioError);
  expect((e as VfioError).errnoName).toBe('EIO');
  expect(s.report.recoveries).toHaveLength(1);
  const rec = s.report.recoveries[0]!;
  // A failed arc may leave the device on its path (recover by SET RUNNING) or in ERROR (only reset leaves it).
  expect(rec).toMatchObject({
    action: rec.observed === 'ERROR' ? 'reset' : 'recovery-state',
    finalState: 'RUNNING',
    ok: true,
  });
  expect(dev.state()).toBe('RUNNING');
  expect(s.dataFd).toBe(-1);
  s.close();
  expect((await dev.snapshot())!.openDataFds).toBe(0);
  expect(openFdCount()).toBe(fds);
});

it('when the recovery state fails too, the device is reset (RUNNING)', async () => {
  const dev = d[1]!; // hisi-acc: PRE_COPY -> STOP_COPY directly; recovery goes STOP_COPY -> STOP -> RUNNING
  const fds = openFdCount();
  await dev.emulator!.handle.inject(1, { kind: 'EIO', arc: { from: 'PRE_COPY', to: 'STOP_COPY' } });
  await dev.emulator!.handle.inject(1, { kind: 'EIO', arc: { from: 'PRE_COPY', to: 'RUNNING' } });
  const s = MigrationSession.open(dev);
  await expect(saveStream(s, { write() {} })).rejects.toThrow(/EIO/);
  const rec = s.report.recoveries.at(-1)!;
  expect(rec.action).toBe('reset');
  expect(rec.finalState).toBe('RUNNING');
  expect(dev.state()).toBe('RUNNING');
  s.close();
  expect(openFdCount()).toBe(fds);
});

it('a stream the destination rejects (resume-rejects) ends in recovery, and the source is untouched', async () => {
  const file = tmp.file('mtty.vfio');
  await saveDevice(d[3]!, file, { finalState: 'RUNNING' });
  const fds = openFdCount();
  const e = await loadDevice(d[2]!, file, { force: true }).catch((x: unknown) => x as VfioError);
  expect(e).toBeInstanceOf(VfioError);
  expect(d[2]!.state()).toBe('RUNNING');
  expect((await d[2]!.snapshot())!.openDataFds).toBe(0);
  expect(openFdCount()).toBe(fds);
});
