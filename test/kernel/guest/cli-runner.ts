// Runs the `vfio-uapi` command (the compiled package's CLI, bundled beside this bundle as vfio-uapi.mjs: see
// test/kernel/guest-bundle.ts) as its own process, as a user would: each command opens the device itself, so the
// caller must not hold the device open.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cliScript = fileURLToPath(new URL('./vfio-uapi.mjs', import.meta.url));

export interface CliRun {
  /** `vfio-uapi save …`, for the report. */
  command: string;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** The last stdout line parsed as JSON (commands run with --json print one object), or null. */
  json: Record<string, unknown> | null;
  seconds: number;
}

export function runCli(args: string[]): CliRun {
  const started = Date.now();
  const child = spawnSync(process.execPath, [cliScript, ...args], { encoding: 'utf8', timeout: 60_000 });
  const lastLine = child.stdout.trim().split('\n').pop() ?? '';
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(lastLine) as Record<string, unknown>;
  } catch {
    // plain-text output
  }
  const seconds = (Date.now() - started) / 1000;
  // On the guest console, so a slow run shows where its time went.
  console.log(`vfiotest: vfio-uapi ${args[0]} exit ${child.status} in ${seconds.toFixed(1)} s`);
  return {
    command: `vfio-uapi ${args.join(' ')}`,
    exitCode: child.status,
    stdout: child.stdout,
    stderr: child.stderr,
    json,
    seconds,
  };
}

/** "exit 0", or "exit 5: <first stderr line>" so a failure shows why. */
export function exitSummary(run: CliRun): string {
  if (run.exitCode === 0) return 'exit 0';
  const why = run.stderr.trim().split('\n')[0] ?? '';
  return `exit ${run.exitCode}${why ? `: ${why}` : ''}`;
}
