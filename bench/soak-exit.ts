/**
 * Runs the supervisor workload in 20 consecutive child processes (alternating the three ways of ending:
 * event loop drains, stop() first, process.exit()) and prints how many exited cleanly: exit code 0, the
 * expected answers printed, and gone within the deadline. With --unprivileged (as root) children run as
 * uid 65534 through setpriv.
 *
 *   node --import tsx bench/soak-exit.ts [--runs 20] [--unprivileged]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AS_NOBODY } from '../test/unprivileged.js';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg >= 0 ? Number(process.argv[runsArg + 1]) : 20;
const unprivileged = process.argv.includes('--unprivileged');
const fixture = fileURLToPath(new URL('../test/emulator-mechanism/fixtures/exercise-demo.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const DEADLINE_MS = 5000;
const endings = [[], ['--stop'], ['--process-exit']];

let clean = 0;
const times: number[] = [];
for (let i = 0; i < runs; i++) {
  const prefix = unprivileged ? AS_NOBODY : [];
  const command = [...prefix, process.execPath, '--import', 'tsx', fixture, ...endings[i % endings.length]!];
  const started = performance.now();
  const r = spawnSync(command[0]!, command.slice(1), {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: DEADLINE_MS,
    killSignal: 'SIGKILL',
  });
  const ms = performance.now() - started;
  times.push(ms);
  let ok = r.status === 0 && r.signal === null;
  if (ok) {
    try {
      const result = JSON.parse(r.stdout.trim());
      ok = result.infoRet === 0 && result.bytes === 2 << 20 && result.endErrno === 42;
    } catch {
      ok = false;
    }
  }
  if (ok) clean++;
  else
    console.log(`run ${i + 1}: NOT clean (status ${r.status}, signal ${r.signal}, ${Math.round(ms)} ms) ${r.stderr}`);
}
const sorted = [...times].sort((a, b) => a - b);
console.log(
  `soak-exit: ${clean}/${runs} runs exited cleanly${unprivileged ? ' (uid 65534)' : ''}; ` +
    `wall per run median ${Math.round(sorted[Math.floor(runs / 2)]!)} ms, max ${Math.round(sorted[runs - 1]!)} ms`,
);
process.exitCode = clean === runs ? 0 : 1;
