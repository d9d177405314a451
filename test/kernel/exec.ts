// Small wrappers around child processes: fail loudly with the tool's own stderr.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';

export class CommandError extends Error {}

/** Runs a command to completion and returns its stdout; throws with stderr on a non-zero exit. */
export function run(command: string, args: readonly string[], options: SpawnSyncOptions = {}): string {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (result.error) throw new CommandError(`${command}: ${result.error.message}`);
  if (result.status !== 0) {
    const stderr = String(result.stderr ?? '').trim();
    throw new CommandError(`${command} ${args.join(' ')} exited ${result.status}: ${stderr.slice(-2000)}`);
  }
  return String(result.stdout ?? '');
}

/** Runs a shell pipeline (used where streaming between tools avoids large temporary files). */
export function runShell(script: string, options: SpawnSyncOptions = {}): string {
  return run('bash', ['-o', 'pipefail', '-c', script], options);
}

export function hasCommand(name: string): boolean {
  return spawnSync('bash', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** Quotes one word for bash. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
