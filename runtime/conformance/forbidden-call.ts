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

/**
 * What a watched call came to: the kernel's answer, no answer in time (`timeout`: the thread or child is left
 * behind, it may be stuck in the kernel), or `ended`: the worker or child died before answering (killed, or it
 * could not start), which says nothing about the kernel.
 */
export type WatchedOutcome =
  { done: true; ret: number; errno: string | null; bytes: Buffer } | { done: false; why: 'timeout' | 'ended' };

type Answer = { ret: number; errno: number; bytes: number[] };

/** A child process that takes one request per line, and the lines it answered that no call has read yet. */
interface Channel {
  child: ChildProcess;
  lines: string[];
  /** Set once the child has exited or failed to start ('exit' is then the last of `lines`). */
  ended: boolean;
  /** The pending call's reader, told when lines (or 'exit', when the child ends) arrive. */
  onLine: (() => void) | null;
}

/**
 * Issues forbidden VFIO_DEVICE_FEATURE calls on one device fd, one call at a time, each with its own watchdog.
 * An emulated device gets a worker thread per call. A real device gets one child process for all its calls (the
 * fd handed over as its fd 3, one request per line): starting node takes seconds on a slow machine, and a kernel
 * that answers does so at once. The child runs in its own process group, so a terminal's Ctrl-C stops the
 * command, not the child in the middle of a request. A child that does not answer in time is killed and left
 * behind (it may be stuck in the kernel); one that died before taking the request is replaced once; a later call
 * starts a new one. close() ends the child.
 */
export class ForbiddenCaller {
  private channel: Channel | null = null;
  private busy = false;
  /** Child processes started so far (one, unless a call had to be given up). */
  childrenStarted = 0;

  /** The current child's pid (null when none runs), for diagnostics. */
  get childPid(): number | null {
    return this.channel?.child.pid ?? null;
  }

  constructor(
    private readonly fd: number,
    private readonly where: 'worker' | 'child',
  ) {}

  /** Issue VFIO_DEVICE_FEATURE with `buf`, giving up after `timeoutMs`. */
  async call(buf: Buffer, timeoutMs: number): Promise<WatchedOutcome> {
    if (this.busy) throw new Error('ForbiddenCaller: one call at a time (the previous one has not answered)');
    this.busy = true;
    try {
      if (this.where === 'worker') return await this.inWorker(buf, timeoutMs);
      const first = await this.inChild(buf, timeoutMs);
      // A child that died before it took the request (killed between two calls, or it could not start): the
      // request never reached the kernel, so a fresh child may send it.
      return first.outcome.done || first.tookRequest ? first.outcome : (await this.inChild(buf, timeoutMs)).outcome;
    } finally {
      this.busy = false;
    }
  }

  /**
   * Ends the child process (it exits when its stdin closes) and waits for it, so the device fd it holds is
   * closed before the next check (a last close resets per-open state); a child that does not exit in a few
   * seconds is killed and left behind.
   */
  async close(): Promise<void> {
    const channel = this.channel;
    this.channel = null;
    if (!channel || channel.ended) return;
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
        resolve({ done: false, why: 'timeout' });
      }, timeoutMs);
      const finish = (outcome: WatchedOutcome) => {
        clearTimeout(timer);
        resolve(outcome);
      };
      worker.once('message', (m: Answer) => {
        finish(outcomeOf(m));
        void worker.terminate();
      });
      worker.once('error', () => finish({ done: false, why: 'ended' }));
    });
  }

  private startChild(): Channel {
    const child = spawn(process.execPath, [SCRIPT], { stdio: ['pipe', 'pipe', 'inherit', this.fd], detached: true });
    this.childrenStarted++;
    const channel: Channel = { child, lines: [], ended: false, onLine: null };
    const end = () => {
      if (channel.ended) return;
      channel.ended = true;
      if (this.channel === channel) this.channel = null;
      channel.lines.push('exit');
      channel.onLine?.();
    };
    // A child that could not start emits 'error' and no 'exit'; one that died takes no request (EPIPE is ignored).
    child.once('error', end);
    child.once('exit', end);
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
    return channel;
  }

  /** One request to the child; `tookRequest` says whether the child said it was about to issue it. */
  private inChild(buf: Buffer, timeoutMs: number): Promise<{ outcome: WatchedOutcome; tookRequest: boolean }> {
    if (this.channel?.ended) this.channel = null;
    const channel = (this.channel ??= this.startChild());
    return new Promise((resolve) => {
      let started = false;
      const finish = (outcome: WatchedOutcome) => {
        clearTimeout(timer);
        channel.onLine = null;
        resolve({ outcome, tookRequest: started });
      };
      const giveUp = () => {
        if (this.channel === channel) this.channel = null;
        channel.child.kill('SIGKILL');
        channel.child.unref();
        channel.child.stdout!.destroy();
        finish({ done: false, why: started ? 'timeout' : 'ended' });
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
          if (line === 'exit') return finish({ done: false, why: 'ended' });
          try {
            return finish(outcomeOf(JSON.parse(line) as Answer));
          } catch {
            return finish({ done: false, why: 'ended' });
          }
        }
      };
      let timer = setTimeout(giveUp, timeoutMs + 60_000);
      channel.child.stdin!.write(`${JSON.stringify([...buf])}\n`);
      // The child may have ended already (its 'exit' line is waiting).
      if (channel.lines.length) channel.onLine();
    });
  }
}

function outcomeOf(m: Answer): WatchedOutcome {
  return { done: true, ret: m.ret, errno: m.ret < 0 ? errnoName(m.errno) : null, bytes: Buffer.from(m.bytes) };
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
