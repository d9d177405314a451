/**
 * Migration across two processes over a Unix socket: `load DEVICE unix:/path` listens in one process,
 * `migrate SOURCE unix:/path` (and `save`) in another sends the stream; the destination's digest equals the
 * source's. Both are children of the test process, which starts no emulator (a child started after an
 * emulator would inherit its seccomp filter).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { tempDir } from '../runtime/helpers.js';

const bin = fileURLToPath(new URL('../../packages/vfio-uapi/bin/vfio-uapi.js', import.meta.url));
const tmp = tempDir();
afterAll(() => tmp.remove());

function run(args: string[]): Promise<{ code: number; json: Record<string, unknown>; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args, '--json', '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((resolve) =>
    child.on('close', (code) =>
      resolve({ code: code ?? 1, json: JSON.parse(stdout.trim().split('\n').pop() || '{}'), stderr }),
    ),
  );
}

it.each([
  ['migrate', 'emulated:mlx5'],
  ['save', 'emulated:hisi-acc'],
] as const)(
  '%s to a process listening on unix:/path: digests match',
  async (command, personality) => {
    const socket = `unix:${tmp.file(`${command}.sock`)}`;
    // The destination first: the sender waits (up to --connect-timeout, 60 s by default) for it to listen.
    const destination = run(['load', personality, socket, '--size', '32MiB', '--seed', '5']);
    const source = run([command, personality, socket, '--size', '32MiB', '--seed', '1']);
    const [src, dst] = await Promise.all([source, destination]);
    expect(src.stderr).toBe('');
    expect(dst.stderr).toBe('');
    expect([src.code, dst.code]).toEqual([0, 0]);
    const sourceDigest =
      command === 'migrate' ? (src.json.verification as { sourceDigest: string }).sourceDigest : null;
    expect(dst.json.digestBefore).not.toBe(dst.json.digest);
    if (sourceDigest) expect(dst.json.digest).toBe(sourceDigest);
    else expect(dst.json.digest).toBe(src.json.digest);
    expect(dst.json.streamBytes).toBe(src.json.totalBytes);
    expect(dst.json.checksum).toBe(src.json.checksum);
  },
  60_000,
);

it('save to a socket nobody listens on fails with one clear line', async () => {
  const r = spawn(
    process.execPath,
    [bin, 'save', 'emulated:mtty', `unix:${tmp.file('nobody.sock')}`, '--connect-timeout', '300ms'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  r.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const code = await new Promise<number>((resolve) => r.on('close', (c) => resolve(c ?? 1)));
  expect(code).toBe(7);
  expect(stderr.trim().split('\n')).toHaveLength(1);
  expect(stderr).toMatch(/nobody is listening there after 300 ms/);
}, 60_000);
