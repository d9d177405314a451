/** A process running the emulator exits promptly, as root and as an unprivileged user (NO_NEW_PRIVS path). */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AS_NOBODY, canRunAsNobody } from '../unprivileged.js';

const fixture = fileURLToPath(new URL('./fixtures/migrate-mlx5.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

function run(
  prefix: string[],
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const command = [...prefix, process.execPath, '--import', 'tsx', fixture];
  const child = spawn(command[0]!, command.slice(1), { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    }),
  );
}

function expectMigrated(r: Awaited<ReturnType<typeof run>>, uid: number) {
  expect(r.signal, `hung; stderr: ${r.stderr}`).toBeNull();
  expect(r.code, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ uid, end: 0, wrote: 0, loaded: 0, sameDigest: true });
}

describe('emulator process exit', () => {
  it('migrates and exits as the current user', async () => expectMigrated(await run([]), process.getuid!()));

  it.skipIf(!canRunAsNobody)('does the same as uid 65534', async () => expectMigrated(await run(AS_NOBODY), 65534));
});
