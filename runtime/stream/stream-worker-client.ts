/**
 * Starting and talking to the stream worker (the compiled stream-worker.js beside this module; from the
 * TypeScript sources, the .ts one through tsx — see runtime/worker.ts).
 *
 * A worker created after the emulator started is covered by its seccomp filter, so it can read emulated
 * data fds like the thread that created it.
 */
import type { Worker } from 'node:worker_threads';
import { startSiblingWorker } from '../worker.js';
import type { ReadCounters } from './fd-io.js';
import { FdIoError } from './fd-io.js';
import type { CommandToStreamWorker, ReplyFromStreamWorker } from './stream-worker-protocol.js';

type Final = Exclude<ReplyFromStreamWorker, { type: 'progress' }>;

function startWorker(): Worker {
  const options = { execArgv: [], stdout: false, stderr: false, resourceLimits: { maxOldGenerationSizeMb: 32 } };
  return startSiblingWorker(import.meta.url, 'stream-worker', options, 'stream worker');
}

/** One worker for one transfer: send a command, get progress callbacks, await the final reply. */
export class StreamWorker {
  private readonly worker = startWorker();
  private waiting: { resolve(r: Final): void; reject(e: Error): void } | null = null;
  /** Counters summed over every command. */
  readonly io: ReadCounters = { eintr: 0, eagain: 0, enomsg: 0 };

  constructor(private readonly onBytes: (n: number) => void) {
    this.worker.on('message', (r: ReplyFromStreamWorker) => {
      if (r.type === 'progress') return this.onBytes(r.bytes);
      if ('io' in r) for (const k of ['eintr', 'eagain', 'enomsg'] as const) this.io[k] += r.io[k];
      const w = this.waiting;
      this.waiting = null;
      if (!w) return;
      if (r.type === 'io-failed') w.reject(new FdIoError(r.call, r.errno));
      else if (r.type === 'failed') w.reject(new Error(`stream worker: ${r.message}`));
      else w.resolve(r);
    });
    const die = (e: Error) => {
      this.waiting?.reject(e);
      this.waiting = null;
    };
    this.worker.on('error', die);
    this.worker.on('exit', (code) => die(new Error(`the stream worker exited (code ${code})`)));
  }

  run<T extends Final['type']>(command: CommandToStreamWorker): Promise<Extract<Final, { type: T }>> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve: resolve as (r: Final) => void, reject };
      this.worker.postMessage(command);
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
