/**
 * Requests the spec forbids, issued where a hang cannot take the suite with it. A real 6.12 kernel never
 * returns from STOP_COPY→PRE_COPY* (its step function loops), and a thread blocked in the kernel cannot be
 * interrupted: emulated devices get a worker thread, real ones a child process that is left behind if it hangs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { errnoName } from '../sys/index.js';

const SCRIPT = fileURLToPath(new URL('./forbidden-call-worker.mjs', import.meta.url));

export type WatchedOutcome = { done: true; ret: number; errno: string | null; bytes: Buffer } | { done: false };

type Answer = { ret: number; errno: number; bytes: number[] };

/** A child process that takes one request per line, and the lines it answered that no call has read yet. */
interface Channel {
  child: ChildProcess;
  lines: string[];
  /** The pending call's reader, told when lines (or 'exit', when the child ends) arrive. */
  onLine: (() => void) | null;
}

/**
 * Issues forbidden VFIO_DEVICE_FEATURE calls on one device fd, each with its own watchdog. An emulated device
 * gets a worker thread per call. A real device gets one child process for all its calls (the fd handed over as
 * its fd 3, one request per line): starting node takes seconds on a slow machine, and a kernel that answers does
 * so at once. A child that does not answer in time is killed and left behind (it may be stuck in the kernel);
 * a later call starts a new one. close() ends the child.
 */
export class ForbiddenCaller {
  private channel: Channel | null = null;
  /** Child processes started so far (one, unless a call had to be given up). */
  childrenStarted = 0;

  constructor(
    private readonly fd: number,
    private readonly where: 'worker' | 'child',
  ) {}

  /** Issue VFIO_DEVICE_FEATURE with `buf`, giving up after `timeoutMs`. */
  call(buf: Buffer, timeoutMs: number): Promise<WatchedOutcome> {
    return this.where === 'worker' ? this.inWorker(buf, timeoutMs) : this.inChild(buf, timeoutMs);
  }

  /**
   * Ends the child process (it exits when its stdin closes) and waits for it, so the device fd it holds is
   * closed before the next check (a last close resets per-open state); a child that does not exit in a few
   * seconds is killed and left behind.
   */
  async close(): Promise<void> {
    const channel = this.channel;
    this.channel = null;
    if (!channel || channel.child.exitCode !== null || channel.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        channel.child.kill('SIGKILL');
        channel.child.unref();
        resolve();
      }, 5_000);
      channel.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    channel.child.stdin!.end();
    await exited;
  }

  private inWorker(buf: Buffer, timeoutMs: number): Promise<WatchedOutcome> {
    return new Promise((resolve) => {
      const worker = new Worker(SCRIPT, { workerData: { fd: this.fd, bytes: [...buf] }, execArgv: [] });
      const timer = setTimeout(() => {
        worker.unref(); // stuck in the kernel: it cannot be stopped, only left behind
        resolve({ done: false });
      }, timeoutMs);
      const finish = (m: Answer | null) => {
        clearTimeout(timer);
        resolve(outcomeOf(m));
      };
      worker.once('message', (m: Answer) => {
        finish(m);
        void worker.terminate();
      });
      worker.once('error', () => finish(null));
    });
  }

  private startChild(): Channel {
    const child = spawn(process.execPath, [SCRIPT], { stdio: ['pipe', 'pipe', 'inherit', this.fd] });
    this.childrenStarted++;
    const channel: Channel = { child, lines: [], onLine: null };
    // A child that died cannot take the request: its 'exit' answers the call, not an EPIPE thrown here.
    child.stdin!.on('error', () => {});
    let pending = '';
    child.stdout!.on('data', (d: Buffer) => {
      pending += d.toString();
      for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
        channel.lines.push(pending.slice(0, end));
        pending = pending.slice(end + 1);
      }
      channel.onLine?.();
    });
    child.once('exit', () => {
      if (this.channel === channel) this.channel = null;
      channel.lines.push('exit');
      channel.onLine?.();
    });
    return channel;
  }

  private inChild(buf: Buffer, timeoutMs: number): Promise<WatchedOutcome> {
    const channel = (this.channel ??= this.startChild());
    return new Promise((resolve) => {
      let started = false;
      const finish = (m: Answer | null) => {
        clearTimeout(timer);
        channel.onLine = null;
        resolve(outcomeOf(m));
      };
      const giveUp = () => {
        if (this.channel === channel) this.channel = null;
        channel.child.kill('SIGKILL');
        channel.child.unref();
        channel.child.stdout!.destroy();
        finish(null);
      };
      channel.onLine = () => {
        for (let line = channel.lines.shift(); line !== undefined; line = channel.lines.shift()) {
          // The clock runs from the child's "ready" (just before the call); until then only a generous bound.
          if (line === 'ready' && !started) {
            started = true;
            clearTimeout(timer);
            timer = setTimeout(giveUp, timeoutMs);
            continue;
          }
          if (line === 'exit') return finish(null);
          try {
            return finish(JSON.parse(line) as Answer);
          } catch {
            return finish(null);
          }
        }
      };
      let timer = setTimeout(giveUp, timeoutMs + 60_000);
      channel.child.stdin!.write(`${JSON.stringify([...buf])}\n`);
    });
  }
}

function outcomeOf(m: Answer | null): WatchedOutcome {
  return m
    ? { done: true, ret: m.ret, errno: m.ret < 0 ? errnoName(m.errno) : null, bytes: Buffer.from(m.bytes) }
    : { done: false };
}

/** Issue VFIO_DEVICE_FEATURE with `buf` on `fd`, giving up after `timeoutMs` (one call, one worker or child). */
export async function featureCallWithWatchdog(
  fd: number,
  buf: Buffer,
  timeoutMs: number,
  where: 'worker' | 'child',
): Promise<WatchedOutcome> {
  const caller = new ForbiddenCaller(fd, where);
  try {
    return await caller.call(buf, timeoutMs);
  } finally {
    await caller.close();
  }
}
