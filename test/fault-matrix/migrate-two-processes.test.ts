/**
 * migrate --processes 2: the source in this process, the destination in a child `vfio-uapi load`. A failure on
 * either side reaches the result and the exit code with the side and the call that failed; the source runs
 * afterwards unless the child confirmed RUNNING; a destination process killed at any point is reported as such.
 * This file starts no emulator itself (a child started after one would inherit its seccomp filter).
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { tempDir } from '../runtime/helpers.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = fileURLToPath(new URL('../../packages/vfio-uapi/bin/vfio-uapi.js', import.meta.url));

const tmp = tempDir();
afterAll(() => tmp.remove());

function cliAsync(args: string[]): Promise<{ code: number | null; json: Record<string, unknown> }> {
  const child = spawn(process.execPath, [bin, ...args, '--json', '--quiet'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  return new Promise((resolve) =>
    child.on('close', (code) => resolve({ code, json: JSON.parse(stdout.trim().split('\n').pop() || '{}') })),
  );
}

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

it('an EIO on the source reaches the exit code and names the source and its call; the destination is reset', () => {
  const args = ['migrate', 'emulated:mlx5+transition-eio', 'emulated:mlx5', '--processes', '2', '--size', '1MiB'];
  const text = cli([...args, '--quiet']);
  expect(text.code).toBe(1);
  expect(text.stderr.split('\n')).toHaveLength(1);
  expect(text.stderr).toBe(
    'vfio-uapi migrate: source emulated:mlx5+transition-eio: VFIO_DEVICE_FEATURE SET MIG_DEVICE_STATE=STOP_COPY ' +
      'failed in PRE_COPY_P2P: EIO (input/output error) [rule mig.state.error_reset] — ' +
      'source emulated:mlx5+transition-eio reset (VFIO_DEVICE_RESET), now RUNNING; ' +
      'destination emulated:mlx5 reset (what it received is discarded), now RUNNING',
  );
  const json = cli([...args, '--json', '--quiet']);
  expect(json.code).toBe(1);
  const j = JSON.parse(json.stdout);
  expect(j).toMatchObject({ ok: false, kind: 'kernel', side: 'source', errnoName: 'EIO' });
  expect(j.outcome).toEqual([
    { role: 'source', device: 'emulated:mlx5+transition-eio', state: 'RUNNING', action: 'reset' },
    { role: 'destination', device: 'emulated:mlx5', state: 'RUNNING', action: 'reset' },
  ]);
}, 60_000);

it('a stream the destination refuses ends with exit 6 from the destination, and the source resumed', () => {
  const r = cli(['migrate', 'emulated:mtty', 'emulated:mtty+resume-rejects', '--processes', '2', '--json', '--quiet']);
  expect(r.code).toBe(6);
  const j = JSON.parse(r.stdout);
  expect(j).toMatchObject({ ok: false, kind: 'bad-stream', side: 'destination' });
  expect(j.error).toMatch(
    /^destination emulated:mtty\+resume-rejects: the destination process failed: emulated:mtty\+resume-rejects refused the stream \(VFIO_DEVICE_FEATURE SET MIG_DEVICE_STATE=STOP in RESUMING: EINVAL\)/,
  );
  expect(j.outcome).toEqual([
    { role: 'source', device: 'emulated:mtty', state: 'RUNNING', action: 'returned' },
    { role: 'destination', device: 'emulated:mtty+resume-rejects', state: 'RUNNING', action: 'reset' },
  ]);
}, 60_000);

it.each([
  ['before-stream', 'untouched'],
  ['mid-stream', 'returned'],
  ['after-stream', 'returned'],
])(
  'the destination process killed %s: the source runs (%s), the destination is reported unknown',
  (point, sourceAction) => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'test/fault-matrix/fixtures/kill-destination.ts', point],
      {
        cwd: root,
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(j.ok).toBe(false);
    expect(j.exit).toBe(1);
    expect(j.side).toEqual({ role: 'destination', device: 'emulated:mlx5' });
    expect(j.message).toMatch(
      /^destination emulated:mlx5: the destination process failed: the destination process was killed by SIGKILL before it confirmed the load/,
    );
    expect(j.sourceState).toBe('RUNNING');
    expect(j.outcome[0]).toEqual({ role: 'source', device: 'emulated:mlx5', state: 'RUNNING', action: sourceAction });
    expect(j.outcome[1]).toEqual({
      role: 'destination',
      device: 'emulated:mlx5',
      state: null,
      action: 'unknown',
      detail: 'its process was killed by SIGKILL; an emulated device dies with it',
    });
  },
  60_000,
);

it('over unix:/PATH the receiver confirms: a migration it refuses resumes the source, a good one is verified', async () => {
  const refused = `unix:${tmp.file('refused.sock')}`;
  const receiver = cliAsync(['load', 'emulated:mtty+resume-rejects', refused, '--migration-destination']);
  const sender = cliAsync(['migrate', 'emulated:mtty', refused]);
  const [src, dst] = await Promise.all([sender, receiver]);
  expect([src.code, dst.code]).toEqual([6, 6]);
  expect(src.json).toMatchObject({ ok: false, kind: 'bad-stream', side: 'destination' });
  expect(src.json.outcome).toEqual([
    { role: 'source', device: 'emulated:mtty', state: 'RUNNING', action: 'returned' },
    { role: 'destination', device: 'emulated:mtty+resume-rejects', state: 'RUNNING', action: 'reset' },
  ]);

  const good = `unix:${tmp.file('good.sock')}`;
  const receiver2 = cliAsync(['load', 'emulated:mtty', good, '--migration-destination', '--seed', '9']);
  const [src2, dst2] = await Promise.all([cliAsync(['migrate', 'emulated:mtty', good]), receiver2]);
  expect([src2.code, dst2.code]).toEqual([0, 0]);
  expect(src2.json.verification).toMatchObject({ checked: true, equal: true, differedBefore: true });
  expect(src2.json.outcome).toEqual([
    { role: 'source', device: 'emulated:mtty', state: 'STOP', action: 'completed' },
    { role: 'destination', device: 'emulated:mtty', state: 'RUNNING', action: 'completed' },
  ]);
}, 60_000);
