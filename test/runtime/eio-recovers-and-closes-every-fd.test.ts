/**
 * Recovery by role, pinned per fault: a source goes back to the state it started in (one SET, or a reset when
 * that is impossible or fails), a destination that entered RESUMING is reset so that what it received is
 * discarded. Every data fd is closed; the device's own state is what it was (a source has nothing loaded into
 * it; a refused destination loads nothing); the other device of a load is not touched.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  loadDevice,
  MigrationSession,
  openDevices,
  saveDevice,
  saveStream,
  VfioError,
  type Device,
  type RecoveryRecord,
} from '../../runtime/index.js';
import { openFdCount, tempDir } from './helpers.js';

const tmp = tempDir();
let mlx5: Device, hisi: Device, rejecting: Device, mtty: Device, stopped: Device;
beforeAll(async () => {
  [mlx5, hisi, rejecting, mtty, stopped] = await openDevices(
    ['emulated:mlx5', 'emulated:hisi-acc', 'emulated:mtty+resume-rejects', 'emulated:mtty', 'emulated:mlx5'],
    { stateSize: 1 << 20 },
  );
});
afterAll(async () => {
  for (const d of [mlx5, hisi, rejecting, mtty, stopped]) await d.close();
  tmp.remove();
});

/** Save into nowhere and return the error, the last recovery and the digests around it. */
async function failingSave(device: Device, opts: { precopy?: boolean } = {}) {
  const fds = openFdCount();
  const before = (await device.snapshot())!;
  const s = MigrationSession.open(device);
  const e = await saveStream(s, { write() {} }, opts).then(
    () => null,
    (x: unknown) => x as VfioError,
  );
  s.close();
  const after = (await device.snapshot())!;
  return { e: e!, rec: s.report.recoveries, before, after, fds, fdsAfter: openFdCount(), dataFd: s.dataFd };
}

it('EIO on PRE_COPY_P2P -> STOP_COPY: the failed arc left ERROR, so the source is reset to RUNNING', async () => {
  await mlx5.emulator!.handle.inject(0, { kind: 'EIO', arc: { from: 'PRE_COPY_P2P', to: 'STOP_COPY' } });
  const r = await failingSave(mlx5);
  expect(r.e).toBeInstanceOf(VfioError);
  expect(r.e.errnoName).toBe('EIO');
  expect(r.e.op).toBe('VFIO_DEVICE_FEATURE SET MIG_DEVICE_STATE=STOP_COPY');
  expect(r.e.message).toBe(
    'VFIO_DEVICE_FEATURE SET MIG_DEVICE_STATE=STOP_COPY failed in PRE_COPY_P2P: EIO (input/output error) ' +
      '[rule mig.state.error_reset] — source emulated:mlx5 reset (VFIO_DEVICE_RESET), now RUNNING',
  );
  expect(r.e.state).toBe('PRE_COPY_P2P');
  expect(r.rec).toEqual<RecoveryRecord[]>([
    {
      after: 'SET STOP_COPY: EIO',
      role: 'source',
      observed: 'ERROR',
      action: 'reset',
      target: 'RUNNING',
      finalState: 'RUNNING',
      discarded: false,
      ok: true,
    },
  ]);
  expect(r.e.outcome).toEqual([{ role: 'source', device: 'emulated:mlx5', state: 'RUNNING', action: 'reset' }]);
  expect(r.after.state).toBe('RUNNING');
  // (No digest check here: the emulated mlx5 dirties its own state while it pre-copies, as a running device does.)
  expect(r.dataFd).toBe(-1);
  expect(r.after.openDataFds).toBe(0);
  expect(r.fdsAfter).toBe(r.fds);
});

it('the data fd dies in PRE_COPY: the source goes back to RUNNING with one SET', async () => {
  await hisi.emulator!.handle.inject(1, { kind: 'close-data-fd-early', afterBytes: 16 });
  const r = await failingSave(hisi);
  expect(r.e.errnoName).toBe('ENODEV');
  expect(r.e.op).toBe('read data fd');
  expect(r.rec).toHaveLength(1);
  expect(r.rec[0]).toMatchObject({ role: 'source', observed: 'PRE_COPY', action: 'recovery-state', target: 'RUNNING' });
  expect(r.rec[0]).toMatchObject({ finalState: 'RUNNING', ok: true, discarded: false });
  expect(r.e.outcome).toEqual([{ role: 'source', device: 'emulated:hisi-acc', state: 'RUNNING', action: 'returned' }]);
  const sets = r.after.requests.filter((q) => q.seq > (r.before.requests.at(-1)?.seq ?? 0)).map((q) => q.state);
  expect(sets).toEqual(['PRE_COPY', 'RUNNING']);
  expect(r.after.digest).toBe(r.before.digest);
  expect(r.fdsAfter).toBe(r.fds);
});

it('when the SET back fails too, the source is reset', async () => {
  await hisi.emulator!.handle.inject(1, { kind: 'close-data-fd-early', afterBytes: 16 });
  await hisi.emulator!.handle.inject(1, { kind: 'EIO', arc: { from: 'PRE_COPY', to: 'RUNNING' } });
  const r = await failingSave(hisi);
  expect(r.rec[0]).toMatchObject({ observed: 'PRE_COPY', action: 'reset', target: 'RUNNING', finalState: 'RUNNING' });
  expect(r.e.outcome).toEqual([{ role: 'source', device: 'emulated:hisi-acc', state: 'RUNNING', action: 'reset' }]);
  expect(r.after.state).toBe('RUNNING');
  expect(r.fdsAfter).toBe(r.fds);
});

it('a source that started in STOP is back in STOP after a reset', async () => {
  const s0 = MigrationSession.open(stopped);
  s0.moveTo('STOP');
  s0.close();
  await stopped.emulator!.handle.inject(4, { kind: 'EIO', arc: { from: 'STOP', to: 'STOP_COPY' } });
  const r = await failingSave(stopped);
  expect(r.rec[0]).toMatchObject({ observed: 'ERROR', action: 'reset', target: 'STOP', finalState: 'STOP' });
  expect(r.e.outcome).toEqual([{ role: 'source', device: 'emulated:mlx5', state: 'STOP', action: 'reset' }]);
  expect(r.after.digest).toBe(r.before.digest);
});

it('a stream the destination rejects (resume-rejects) is discarded by a reset; the source is not touched', async () => {
  const file = tmp.file('mtty.vfio');
  await saveDevice(mtty, file, { finalState: 'RUNNING' });
  const sourceBefore = (await mtty.snapshot())!;
  const before = (await rejecting.snapshot())!;
  const fds = openFdCount();
  const e = (await loadDevice(rejecting, file, { force: true }).catch((x: unknown) => x)) as VfioError;
  expect(e).toBeInstanceOf(VfioError);
  // mtty refuses to leave RESUMING (EINVAL) and stays there: the stream is refused, not loaded.
  expect(e.kind).toBe('bad-stream');
  expect(e.message).toMatch(
    /^emulated:mtty\+resume-rejects refused the stream \(VFIO_DEVICE_FEATURE SET MIG_DEVICE_STATE=STOP in RESUMING: EINVAL\)/,
  );
  expect(e.outcome).toEqual([
    { role: 'destination', device: 'emulated:mtty+resume-rejects', state: 'RUNNING', action: 'reset' },
  ]);
  const after = (await rejecting.snapshot())!;
  expect(after.digest).toBe(before.digest);
  expect(after.state).toBe('RUNNING');
  expect(after.openDataFds).toBe(0);
  expect(openFdCount()).toBe(fds);
  const sourceAfter = (await mtty.snapshot())!;
  expect(sourceAfter.requests).toEqual(sourceBefore.requests);
  expect(sourceAfter.digest).toBe(sourceBefore.digest);
  expect(sourceAfter.state).toBe('RUNNING');
});
