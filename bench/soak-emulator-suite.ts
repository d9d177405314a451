/**
 * Runs the whole emulator test suite (vitest, test/emulator) in 20 consecutive processes and prints how many
 * exited cleanly: status 0, every test passed, gone within the deadline (a hang at exit is killed and counted).
 *
 *   node --import tsx bench/soak-emulator-suite.ts [--runs 20]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg >= 0 ? Number(process.argv[runsArg + 1]) : 20;
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const DEADLINE_MS = 60_000;
const vitest = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));

let clean = 0;
const times: number[] = [];
for (let i = 0; i < runs; i++) {
  const started = performance.now();
  const r = spawnSync(process.execPath, [vitest, 'run', 'test/emulator', '--reporter=dot'], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: DEADLINE_MS,
    killSignal: 'SIGKILL',
  });
  const ms = performance.now() - started;
  times.push(ms);
  if (r.status === 0 && r.signal === null) clean++;
  else
    console.log(
      `run ${i + 1}: NOT clean (status ${r.status}, signal ${r.signal}, ${Math.round(ms)} ms)\n${r.stdout.slice(-2000)}`,
    );
}
const sorted = [...times].sort((a, b) => a - b);
console.log(
  `soak-emulator-suite: ${clean}/${runs} suite runs exited cleanly; ` +
    `wall per run median ${Math.round(sorted[Math.floor(runs / 2)]!)} ms, max ${Math.round(sorted[runs - 1]!)} ms`,
);
process.exitCode = clean === runs ? 0 : 1;
