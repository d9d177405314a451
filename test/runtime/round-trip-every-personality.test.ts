/**
 * Save → file → load round trips and in-process migrations on every emulated personality that migrates,
 * verified by digest.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openDevices, saveDevice, loadDevice, type Device } from '../../runtime/index.js';
import { MIGRATING_PERSONALITIES as PERSONALITIES } from '../../runtime/emulator/api.js';
import { openFdCount, tempDir } from './helpers.js';

const tmp = tempDir();
let devices: Device[] = [];

beforeAll(async () => {
  // One emulator per process: every device this file uses, two per personality (source, destination).
  devices = await openDevices(
    PERSONALITIES.flatMap((p) => [`emulated:${p}`, `emulated:${p}`]),
    { stateSize: 3 << 20, seed: 10 },
  );
});
afterAll(async () => {
  for (const d of devices) await d.close();
  tmp.remove();
});

describe.each(PERSONALITIES.map((p, i) => [p, i] as const))('%s', (personality, i) => {
  it('save to a file, load into another device: the destination equals the source', async () => {
    const [src, dst] = [devices[2 * i]!, devices[2 * i + 1]!];
    const fdsBefore = openFdCount();
    expect((await dst.snapshot())!.digest).not.toBe((await src.snapshot())!.digest);
    const saved = await saveDevice(src, tmp.file(`${personality}.vfio`), { finalState: 'RUNNING' });
    const sourceDigest = (await src.snapshot())!.digest;
    const loaded = await loadDevice(dst, tmp.file(`${personality}.vfio`));
    expect(loaded.streamBytes).toBe(saved.totalBytes);
    expect(loaded.checksum).toBe(saved.checksum);
    expect((await dst.snapshot())!.digest).toBe(sourceDigest);
    expect(dst.state()).toBe('RUNNING');
    expect(src.state()).toBe('RUNNING');
    expect(saved.report.dataFdsOpened).toBe(saved.report.dataFdsClosed);
    expect((await src.snapshot())!.openDataFds).toBe(0);
    expect(openFdCount()).toBe(fdsBefore);
  });

  it.each(['stepwise', 'direct'] as const)('migrates in-process (%s mode)', async (mode) => {
    const [src, dst] = [devices[2 * i]!, devices[2 * i + 1]!];
    const fdsBefore = openFdCount();
    const r = await migrate(src, dst, { session: { mode }, sourceFinalState: 'RUNNING' });
    expect(r.verification.checked).toBe(true);
    expect(r.verification.equal).toBe(true);
    expect(r.source.mode).toBe(mode);
    if (mode === 'direct') expect(r.source.steps.filter((s) => s.op === 'SET STOP_COPY').length).toBe(1);
    expect(openFdCount()).toBe(fdsBefore);
  });
});
