/**
 * saveDevice into a path through the API: a cancellation (AbortSignal) in each phase — pre-copy, stop-copy,
 * after the trailer is written — leaves the path as it was and the device RUNNING; a committed save keeps
 * the old file's permissions and writes through a symlink; the named temporary file (filesystems without
 * O_TMPFILE) is removed on failure, and one left by a dead process is removed by the next save.
 */
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDevice, saveDevice, loadDevice, VfioError, type Device } from '../../runtime/index.js';
import { openAtomicFile } from '../../runtime/stream/atomic-file.js';
import { tempDir } from './helpers.js';

const tmp = tempDir();
let dev: Device;
const PRECIOUS = Buffer.from('kept\n');
beforeAll(async () => {
  dev = await openDevice('emulated:mlx5', { stateSize: 8 << 20 });
});
afterAll(async () => {
  await dev.close();
  tmp.remove();
});

let n = 0;
function folder(): string {
  const dir = tmp.file(`case-${n++}`);
  mkdirSync(dir);
  return dir;
}

describe('a save cancelled in each phase', () => {
  // Each hook aborts inside its phase; the error names the state the save was in when it stopped.
  const phases: Record<string, [(abort: () => void) => Parameters<typeof saveDevice>[2], string]> = {
    'pre-copy': [(abort) => ({ onProgress: (e) => e.phase === 'precopy' && !e.done && abort() }), 'PRE_COPY'],
    'stop-copy': [
      (abort) => ({ precopy: false, onProgress: (e) => e.phase === 'stopcopy' && !e.done && abort() }),
      'STOP_COPY',
    ],
    'after the trailer, before the rename': [(abort) => ({ afterStopCopy: abort }), 'STOP'],
  };
  it.each(Object.entries(phases))(
    '%s: kind cancelled, the path as it was, the device RUNNING',
    async (_p, [hook, state]) => {
      const dir = folder();
      writeFileSync(`${dir}/state.vfio`, PRECIOUS);
      const controller = new AbortController();
      const e = await saveDevice(dev, `${dir}/state.vfio`, {
        ...hook(() => controller.abort('SIGINT')),
        signal: controller.signal,
      }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(VfioError);
      expect((e as VfioError).kind).toBe('cancelled');
      expect((e as VfioError).message).toBe(
        `stopped by SIGINT in ${state} — source emulated:mlx5 resumed, now RUNNING`,
      );
      expect(readFileSync(`${dir}/state.vfio`)).toEqual(PRECIOUS);
      expect(readdirSync(dir)).toEqual(['state.vfio']);
      expect(dev.state()).toBe('RUNNING');
      expect((await dev.snapshot())!.openDataFds).toBe(0);
    },
  );
});

it('a committed save keeps the replaced file’s permissions', async () => {
  const dir = folder();
  writeFileSync(`${dir}/state.vfio`, PRECIOUS);
  chmodSync(`${dir}/state.vfio`, 0o600);
  await saveDevice(dev, `${dir}/state.vfio`, { finalState: 'RUNNING' });
  expect(statSync(`${dir}/state.vfio`).mode & 0o777).toBe(0o600);
  expect(readFileSync(`${dir}/state.vfio`).subarray(0, 8).toString()).toBe('VFIOSTAT');
});

it('a save through a symlink writes its target and keeps the link', async () => {
  const dir = folder();
  mkdirSync(`${dir}/real`);
  writeFileSync(`${dir}/real/state.vfio`, PRECIOUS);
  symlinkSync(`${dir}/real/state.vfio`, `${dir}/link.vfio`);
  await saveDevice(dev, `${dir}/link.vfio`, { finalState: 'RUNNING' });
  expect(lstatSync(`${dir}/link.vfio`).isSymbolicLink()).toBe(true);
  expect(readlinkSync(`${dir}/link.vfio`)).toBe(`${dir}/real/state.vfio`);
  expect(readFileSync(`${dir}/real/state.vfio`).subarray(0, 8).toString()).toBe('VFIOSTAT');
  expect(readdirSync(`${dir}/real`)).toEqual(['state.vfio']);
});

describe('without O_TMPFILE: a named temporary file', () => {
  it('is there while writing, renamed on commit, removed when not committed', () => {
    const dir = folder();
    writeFileSync(`${dir}/state.vfio`, PRECIOUS);
    const a = openAtomicFile(`${dir}/state.vfio`, 'state.vfio', { unnamed: false });
    const names = readdirSync(dir).sort();
    expect(names).toHaveLength(2);
    expect(names[0]).toMatch(new RegExp(`^\\.state\\.vfio\\.vfio-uapi-${process.pid}-[0-9a-f]{8}\\.tmp$`));
    a.close(); // not committed
    expect(readdirSync(dir)).toEqual(['state.vfio']);
    expect(readFileSync(`${dir}/state.vfio`)).toEqual(PRECIOUS);
    const b = openAtomicFile(`${dir}/state.vfio`, 'state.vfio', { unnamed: false });
    writeFileSync(b.fd, 'new');
    b.commit!();
    b.close();
    expect(readdirSync(dir)).toEqual(['state.vfio']);
    expect(readFileSync(`${dir}/state.vfio`, 'utf8')).toBe('new');
  });

  it("one left by a process that is gone is removed by the next save there; a live process's is not", async () => {
    const dir = folder();
    const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
    const dead = `.state.vfio.vfio-uapi-${pidMax + 1}-0badc0de.tmp`;
    const live = `.state.vfio.vfio-uapi-${process.ppid}-00c0ffee.tmp`;
    writeFileSync(`${dir}/${dead}`, 'half a state');
    writeFileSync(`${dir}/${live}`, 'being written');
    await saveDevice(dev, `${dir}/state.vfio`, { finalState: 'RUNNING' });
    expect(readdirSync(dir).sort()).toEqual([live, 'state.vfio']);
    const r = await loadDevice(dev, `${dir}/state.vfio`);
    expect(r.streamBytes).toBeGreaterThan(8 << 20);
  });
});
