/**
 * Requests the spec forbids, issued where a hang cannot take the suite with it. A real 6.12 kernel never
 * returns from STOP_COPY→PRE_COPY* (its step function loops), and a thread blocked in the kernel cannot be
 * interrupted: emulated devices get a worker thread, real ones a child process that is left behind if it hangs.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { errnoName } from '../sys/index.js';

const SCRIPT = fileURLToPath(new URL('./forbidden-call-worker.mjs', import.meta.url));

export type WatchedOutcome = { done: true; ret: number; errno: string | null; bytes: Buffer } | { done: false };

/** Issue VFIO_DEVICE_FEATURE with `buf` on `fd`, giving up after `timeoutMs`. */
export function featureCallWithWatchdog(
  fd: number,
  buf: Buffer,
  timeoutMs: number,
  where: 'worker' | 'child',
): Promise<WatchedOutcome> {
  const bytes = [...buf];
  return new Promise((resolve) => {
    const finish = (m: { ret: number; errno: number; bytes: number[] } | null) => {
      clearTimeout(timer);
      resolve(
        m
          ? { done: true, ret: m.ret, errno: m.ret < 0 ? errnoName(m.errno) : null, bytes: Buffer.from(m.bytes) }
          : { done: false },
      );
    };
    let timer: NodeJS.Timeout;
    if (where === 'worker') {
      const worker = new Worker(SCRIPT, { workerData: { fd, bytes }, execArgv: [] });
      worker.once('message', (m) => {
        finish(m);
        void worker.terminate();
      });
      worker.once('error', () => finish(null));
      timer = setTimeout(() => {
        worker.unref(); // stuck in the kernel: it cannot be stopped, only left behind
        finish(null);
      }, timeoutMs);
    } else {
      const child = spawn(process.execPath, [SCRIPT, JSON.stringify(bytes)], {
        stdio: ['ignore', 'pipe', 'inherit', fd],
      });
      let out = '';
      let started = false;
      const giveUp = () => {
        child.kill('SIGKILL');
        child.unref();
        child.stdout!.destroy();
        finish(null);
      };
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        // The clock runs from the child's "ready" (just before the call); until then only a generous bound.
        if (out.startsWith('ready\n') && !started) {
          started = true;
          clearTimeout(timer);
          timer = setTimeout(giveUp, timeoutMs);
        }
      });
      child.once('exit', () => {
        try {
          finish(JSON.parse(out.replace(/^ready\n/, '')));
        } catch {
          finish(null);
        }
      });
      timer = setTimeout(giveUp, timeoutMs + 60_000);
    }
  });
}
