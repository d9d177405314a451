/**
 * Migration across two processes over a Unix socket: `load DEVICE unix:/path` listens in one process,
 * `migrate SOURCE unix:/path` (and `save`) in another sends the stream; the destination's digest equals the
 * source's. Both are children of the test process, which starts no emulator (a child started after an
 * emulator would inherit its seccomp filter).
 */
import { afterAll, expect, it } from 'vitest';
import { tempDir } from '../runtime/helpers.js';
import { runCli } from './run-cli.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

async function run(args: string[]): Promise<{ code: number; json: Record<string, unknown>; stderr: string }> {
  const r = await runCli([...args, '--json', '--quiet'], { timeoutMs: 60_000 });
  return { code: r.code ?? 1, json: JSON.parse(r.stdout.trim().split('\n').pop() || '{}'), stderr: r.stderr };
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
  const { code, stderr } = await runCli(
    ['save', 'emulated:mtty', `unix:${tmp.file('nobody.sock')}`, '--connect-timeout', '300ms'],
    { timeoutMs: 60_000 },
  );
  expect(code).toBe(7);
  expect(stderr.trim().split('\n')).toHaveLength(1);
  expect(stderr).toMatch(/nobody is listening there after 300 ms/);
}, 60_000);
