/**
 * Starting and talking to the stream worker. From the TypeScript sources the worker registers tsx itself
 * (as the emulator's supervisor does), which works under node, tsx and vitest; from the built bundle
 * (build/dist) it loads the prebuilt stream-worker.mjs beside it and needs no tsx.
 *
 * A worker created after the emulator started is covered by its seccomp filter, so it can read emulated
 * data fds like the thread that created it.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { ReadCounters } from './fd-io.js';
import { FdIoError } from './fd-io.js';
import type { CommandToStreamWorker, ReplyFromStreamWorker } from './stream-worker-protocol.js';

type Final = Exclude<ReplyFromStreamWorker, { type: 'progress' }>;

function startWorker(): Worker {
  const here = import.meta.url;
  const options = { execArgv: [], stdout: false, stderr: false, resourceLimits: { maxOldGenerationSizeMb: 32 } };
  if (!here.endsWith('.ts')) return new Worker(new URL('./stream-worker.mjs', here), options);
  const require = createRequire(here);
  const tsxApi = require.resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs');
  const entry = new URL('./stream-worker.ts', here).href;
  const bootstrap = `
    const { pathToFileURL } = require('node:url');
    import(pathToFileURL(${JSON.stringify(tsxApi)}).href)
      .then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })
      .catch((e) => { process.stderr.write('stream worker failed to start: ' + (e && e.stack || e) + '\\n'); process.exit(1); });`;
  return new Worker(bootstrap, { ...options, eval: true });
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
