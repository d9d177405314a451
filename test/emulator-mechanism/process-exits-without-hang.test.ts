import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AS_NOBODY, canRunAsNobody } from '../unprivileged.js';

const fixture = fileURLToPath(new URL('./fixtures/exercise-demo.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const EXIT_DEADLINE_MS = 5000;

interface ChildResult {
  code: number | null;
  signal: string | null;
  ms: number;
  stdout: string;
  stderr: string;
}

/** Runs the fixture in a fresh process; kills it (and reports a hang) if it outlives the deadline. */
function runChild(prefix: string[], args: string[] = []): Promise<ChildResult> {
  const command = [...prefix, process.execPath, '--import', 'tsx', fixture, ...args];
  const started = performance.now();
  const child = spawn(command[0]!, command.slice(1), { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_DEADLINE_MS);
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, ms: performance.now() - started, stdout, stderr });
    }),
  );
}

function expectCleanRun(r: ChildResult, uid: number) {
  expect(r.signal, `killed after ${Math.round(r.ms)} ms (hang); stderr: ${r.stderr}`).toBeNull();
  expect(r.code, r.stderr).toBe(0);
  const result = JSON.parse(r.stdout.trim());
  expect(result).toMatchObject({
    uid,
    infoRet: 0,
    numRegions: 9,
    device: 1000,
    dataFd: 1001,
    bytes: 2 << 20,
    endErrno: 42,
    badPointer: [-1, 14],
  });
}

describe('a process using the supervisor exits cleanly', () => {
  it('when the event loop drains with the supervisor still attached', async () => {
    expectCleanRun(await runChild([]), process.getuid!());
  });

  it('when the supervisor is stopped first', async () => {
    expectCleanRun(await runChild([], ['--stop']), process.getuid!());
  });

  it('when process.exit() is called', async () => {
    expectCleanRun(await runChild([], ['--process-exit']), process.getuid!());
  });
});

describe.skipIf(!canRunAsNobody)('as an unprivileged user (NO_NEW_PRIVS instead of CAP_SYS_ADMIN)', () => {
  it('traps, answers, installs fds and exits the same way as uid 65534', async () => {
    const r = await runChild(AS_NOBODY);
    expectCleanRun(r, 65534);
  });
});
