/**
 * `save` to a file is atomic whatever happens to the process: SIGINT and SIGTERM at each phase stop it
 * with one line and exit 130/143, the device recovered; SIGKILL at each phase leaves the path as it was;
 * two saves racing for one path leave one complete, loadable file. The killed process's emulator folder
 * is removed by the next run. Each case is a real `vfio-uapi` process; phases are recognised from its
 * progress lines on stderr (pre-copy round 1, stop-copy), with states large enough (2 GiB, generated, never
 * all written) that the signal lands inside the phase.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../runtime/helpers.js';
import { alive, childrenOf, emulatorFolders, hasStackTrace, runCli } from './run-cli.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
const PRECIOUS = Buffer.from('an earlier save the user keeps\n');

/** Signal the child once its stderr shows `line`. */
function signalAt(line: RegExp, signal: NodeJS.Signals, seen: { pid?: number; text: string }) {
  return (child: ChildProcess) => {
    seen.pid = child.pid;
    let sent = false;
    child.stderr!.on('data', (c: Buffer) => {
      seen.text += c.toString();
      if (!sent && line.test(seen.text)) {
        sent = true;
        child.kill(signal);
      }
    });
  };
}

const PHASES = {
  'pre-copy': { args: ['--size', '2GiB'], line: /pre-copy round 1: /, state: 'PRE_COPY' },
  'stop-copy': { args: ['--size', '2GiB', '--no-precopy'], line: /stop-copy: /, state: 'STOP_COPY' },
} as const;

describe.each(Object.entries(PHASES))('%s', (phase, p) => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    `%s: exit %i, one line, the existing file untouched, nothing left beside it, the device recovered`,
    async (signal, code) => {
      const dir = tmpDir(`${phase}-${signal}`);
      writeFileSync(`${dir}/state.vfio`, PRECIOUS);
      const seen = { text: '' } as { pid?: number; text: string };
      const r = await runCli(['save', 'emulated:mlx5', `${dir}/state.vfio`, ...p.args], {
        onSpawn: signalAt(p.line, signal, seen),
      });
      const last = r.stderr.trim().split('\n').at(-1)!;
      expect(hasStackTrace(r.stderr)).toBe(false);
      expect(last).toMatch(
        new RegExp(
          `^vfio-uapi save: stopped by ${signal} in ${p.state} — source emulated:mlx5 resumed, now RUNNING; .*state\\.vfio was not written \\(anything there before is untouched\\)$`,
        ),
      );
      expect(r.code).toBe(code);
      expect(readFileSync(`${dir}/state.vfio`)).toEqual(PRECIOUS);
      expect(readdirSync(dir)).toEqual(['state.vfio']);
      expect(emulatorFolders(seen.pid!)).toEqual([]);
    },
  );

  it('SIGKILL: the existing file untouched, nothing beside it; the next run removes the emulator folder', async () => {
    const dir = tmpDir(`${phase}-kill`);
    writeFileSync(`${dir}/state.vfio`, PRECIOUS);
    const seen = { text: '' } as { pid?: number; text: string };
    const r = await runCli(['save', 'emulated:mlx5', `${dir}/state.vfio`, ...p.args], {
      onSpawn: signalAt(p.line, 'SIGKILL', seen),
    });
    expect(r.signal).toBe('SIGKILL');
    expect(readFileSync(`${dir}/state.vfio`)).toEqual(PRECIOUS);
    expect(readdirSync(dir)).toEqual(['state.vfio']);
    expect(emulatorFolders(seen.pid!)).toHaveLength(1);
    expect((await runCli(['info', 'emulated:mtty'])).code).toBe(0);
    expect(emulatorFolders(seen.pid!)).toEqual([]);
  });
});

it('SIGKILL as the trailer is written: the file is what was there, or complete and loadable', async () => {
  const dir = tmpDir('trailer-kill');
  writeFileSync(`${dir}/state.vfio`, PRECIOUS);
  const seen = { text: '' } as { pid?: number; text: string };
  const r = await runCli(['save', 'emulated:mlx5', `${dir}/state.vfio`, '--size', '64MiB', '--no-precopy'], {
    onSpawn: signalAt(/stop-copy: .*\(done\)/, 'SIGKILL', seen),
  });
  expect(r.code === 0 || r.signal === 'SIGKILL').toBe(true);
  expect(readdirSync(dir)).toEqual(['state.vfio']);
  const now = readFileSync(`${dir}/state.vfio`);
  if (!now.equals(PRECIOUS)) {
    const load = await runCli(['load', 'emulated:mlx5', `${dir}/state.vfio`, '--size', '64MiB', '--quiet']);
    expect([load.code, load.stderr]).toEqual([0, '']);
  }
});

it('two saves racing for one path: both succeed, one complete file stays and loads', async () => {
  const dir = tmpDir('race');
  const out = `${dir}/state.vfio`;
  const [a, b] = await Promise.all(
    ['1', '2'].map((seed) =>
      runCli(['save', 'emulated:mlx5', out, '--size', '32MiB', '--seed', seed, '--json', '--quiet']),
    ),
  );
  expect([a!.code, b!.code, a!.stderr + b!.stderr]).toEqual([0, 0, '']);
  const sums = [a!, b!].map((x) => (JSON.parse(x.stdout) as { checksum: string }).checksum);
  expect(sums[0]).not.toBe(sums[1]);
  expect(readdirSync(dir)).toEqual(['state.vfio']);
  const load = await runCli(['load', 'emulated:mlx5', out, '--size', '32MiB', '--json', '--quiet']);
  expect(load.code).toBe(0);
  expect(sums).toContain((JSON.parse(load.stdout) as { checksum: string }).checksum);
});

it('kill -9 of a two-process migrate: the child ends without a stack trace', async () => {
  const seen = { text: '' } as { pid?: number; text: string };
  let child: number | undefined;
  const r = await runCli(['migrate', 'emulated:mlx5', 'emulated:mlx5', '--processes', '2', '--size', '2GiB'], {
    onSpawn(parent) {
      let sent = false;
      parent.stderr!.on('data', async (c: Buffer) => {
        seen.text += c.toString();
        if (sent || !/pre-copy round 1: /.test(seen.text)) return;
        sent = true;
        child = (await childrenOf(parent.pid!))[0];
        parent.kill('SIGKILL');
      });
    },
  });
  expect(r.signal).toBe('SIGKILL');
  expect(child).toBeGreaterThan(0);
  // The child inherited the parent's stderr: what it printed is in r.stderr once it ended (the pipe closed).
  expect(await alive(child!)).toBe(false);
  expect(hasStackTrace(r.stderr)).toBe(false);
});

function tmpDir(name: string): string {
  const dir = tmp.file(name);
  mkdirSync(dir);
  return dir;
}
