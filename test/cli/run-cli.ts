/**
 * Running `vfio-uapi` as a child process for the CLI tests: at most two at a time (the machine has two
 * cores), each killed if it outlives `timeoutMs` (so a hang is a failure, not a stuck suite).
 */
import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

export const bin = fileURLToPath(new URL('../../packages/vfio-uapi/bin/vfio-uapi.js', import.meta.url));

export interface CliResult {
  code: number | null;
  /** Set when the process was killed by a signal (by the timeout: SIGKILL). */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface CliOptions {
  /** Bytes for stdin; default: stdin is an empty pipe. */
  input?: Buffer;
  /** Close our end of the child's stdout at once, as `| head -c 0` would. */
  closeStdout?: boolean;
  /** More descriptors for the child, as its fd 3, 4, … */
  fds?: number[];
  /** argv prefix, e.g. to drop privileges. */
  prefix?: string[];
  timeoutMs?: number;
  /** Called with the child as soon as it runs (to signal it, read its stderr as it comes). */
  onSpawn?(child: ChildProcess): void;
}

let running = 0;
const waiting: (() => void)[] = [];
async function slot(): Promise<() => void> {
  if (running >= 2) await new Promise<void>((r) => waiting.push(r));
  running++;
  return () => {
    running--;
    waiting.shift()?.();
  };
}

export async function runCli(args: string[], o: CliOptions = {}): Promise<CliResult> {
  const release = await slot();
  try {
    const argv = [...(o.prefix ?? []), process.execPath, bin, ...args];
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ['pipe', 'pipe', 'pipe', ...(o.fds ?? [])],
    }) as ChildProcessWithoutNullStreams;
    let stdout = '';
    let stderr = '';
    if (o.closeStdout) child.stdout.destroy();
    else child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.stdin.on('error', () => {});
    child.stdin.end(o.input ?? Buffer.alloc(0));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs ?? 30_000);
    o.onSpawn?.(child);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('close', (c, s) => resolve([c, s])),
    );
    clearTimeout(timer);
    return { code, signal, stdout, stderr, timedOut };
  } finally {
    release();
  }
}

/** A stack trace, or Node's report of an uncaught error, anywhere in `text`. */
export function hasStackTrace(text: string): boolean {
  return (
    /\n\s+at .+(:\d+:\d+\)?|\(native\))$/m.test(text) || /node:internal|Uncaught|triggerUncaughtException/.test(text)
  );
}

/** The pids of `pid`'s children (Linux: /proc/PID/task/PID/children). */
export async function childrenOf(pid: number): Promise<number[]> {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Whether a process exists (and is not a zombie). */
export async function alive(pid: number): Promise<boolean> {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** The emulator folders a process made (vfio-emulator-PID-…): none once it has ended cleanly. */
export function emulatorFolders(pid: number): string[] {
  return readdirSync(tmpdir()).filter((n) => n.startsWith(`vfio-emulator-${pid}-`));
}
