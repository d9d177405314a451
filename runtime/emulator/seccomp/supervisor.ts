/**
 * Main-thread side: starts the supervisor worker (once per process), installs the seccomp filter on the
 * calling thread, and attaches a handler module inside the worker.
 *
 * Order matters: the worker thread must exist before the filter, or its own syscalls would be trapped and
 * nobody would answer them. The filter covers the thread that calls `startSupervisor` (normally the main
 * thread) and every thread it creates afterwards; libuv pool threads started earlier are not covered, so make
 * emulated syscalls synchronously or from threads created later.
 */
import { rmSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { startSiblingWorker } from '../../worker.js';
import { O_CLOEXEC, O_NONBLOCK } from '../../sys/constants.js';
import { close, pipe2OrThrow, write } from '../../sys/libc.js';
import { defaultFdSyscalls, type FilterPlan } from './bpf.js';
import type { TrappedSyscallName } from './constants.js';
import { installedFilter, installFilterOnce } from './install-filter.js';
import type { CommandToWorker, ReplyFromWorker, SupervisorWorkerData } from './protocol.js';

export interface SupervisorOptions {
  /** Passed (structured-cloned) to the handler factory as `env.options`. */
  handlerOptions?: unknown;
  /** fd numbers the emulator owns in this process. Fixed by the first start (filters cannot change). */
  reservedFds?: { first: number; count: number };
  /** fd-based syscalls trapped on reserved fds. Fixed by the first start. */
  fdSyscalls?: readonly TrappedSyscallName[];
}

export interface Supervisor {
  /** Directory whose files the handler treats as device nodes. */
  readonly placeholderDir: string;
  /** Listener fd of this process's filter (for diagnostics). */
  readonly listenerFd: number;
  /** Detaches the handler. Trapped syscalls are let through afterwards; the worker idles until exit. */
  stop(): Promise<void>;
  /** Sends `payload` to the handler's `message` hook and resolves with its answer. */
  message(payload: unknown): Promise<unknown>;
}

type CommandWithoutId = CommandToWorker extends infer C ? (C extends unknown ? Omit<C, 'requestId'> : never) : never;

export const DEFAULT_RESERVED_FDS = { first: 1000, count: 100 } as const;

class SupervisorThread {
  private readonly worker: Worker;
  private readonly controlWriteFd: number;
  private readonly exiting: Int32Array;
  private nextRequestId = 1;
  private readonly waiting = new Map<number, { resolve(r: ReplyFromWorker): void; reject(e: Error): void }>();
  private readonly ready: Promise<void>;
  private dead: Error | undefined;

  constructor() {
    const [controlRead, controlWrite] = pipe2OrThrow(O_CLOEXEC | O_NONBLOCK);
    this.controlWriteFd = controlWrite;
    const sharedState = new SharedArrayBuffer(4);
    this.exiting = new Int32Array(sharedState);
    const data: SupervisorWorkerData = { controlReadFd: controlRead, sharedState };
    const options = { workerData: data, execArgv: [], stdout: false, stderr: false };
    this.worker = startSiblingWorker(import.meta.url, 'supervisor-worker', options, 'seccomp supervisor');
    this.ready = new Promise((resolve, reject) => {
      const onMessage = (reply: ReplyFromWorker) => {
        if (reply.type === 'ready') return resolve();
        const pending = this.waiting.get(reply.requestId);
        if (!pending) return;
        this.waiting.delete(reply.requestId);
        this.updateRef();
        if (reply.type === 'failed') pending.reject(new Error(`seccomp supervisor: ${reply.message}`));
        else pending.resolve(reply);
      };
      this.worker.on('message', onMessage);
      this.worker.on('error', (e) => this.fail(e, reject));
      this.worker.on('exit', (code) => this.fail(new Error(`seccomp supervisor thread exited (code ${code})`), reject));
    });
    // At exit the worker must notice Node's termination request quickly (see supervisor-worker.ts).
    process.once('exit', () => {
      Atomics.store(this.exiting, 0, 1);
      this.wake();
      // The worker gets no chance to clean up at exit; remove the placeholder nodes from here.
      if (attachedPlaceholderDir) rmSync(attachedPlaceholderDir, { recursive: true, force: true });
    });
  }

  private fail(error: Error, reject: (e: Error) => void): void {
    this.dead = error;
    reject(error);
    for (const pending of this.waiting.values()) pending.reject(error);
    this.waiting.clear();
    // Nobody answers trapped syscalls any more; closing the listener makes them fail (ENOSYS) instead of hang.
    const filter = installedFilter();
    if (filter) close(filter.listenerFd);
  }

  private updateRef(): void {
    // Keep the process alive only while the main thread awaits an answer from the worker.
    if (this.waiting.size > 0) this.worker.ref();
    else this.worker.unref();
  }

  private wake(): void {
    write(this.controlWriteFd, Buffer.from([1]));
  }

  /** Resolves once the worker runs; the process stays alive for it meanwhile. */
  async whenReady(): Promise<void> {
    this.worker.ref();
    try {
      await this.ready;
    } finally {
      this.updateRef();
    }
  }

  /**
   * Lets the process exit while nobody waits for the thread (a thread started ahead of its use) — once it has
   * booted: a worker terminated while it is still loading koffi can take the process down with a fatal N-API
   * error, so until then the process waits for it (~0.1 s at most, and only if the command ends that early).
   */
  detachFromProcess(): void {
    // A failure is reported to whoever awaits whenReady(), if anyone does.
    this.ready.then(
      () => this.updateRef(),
      () => {},
    );
  }

  /** Ends the worker, for a start that failed before any filter existed (nothing for it to serve). */
  async terminate(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }

  async command(command: CommandWithoutId): Promise<ReplyFromWorker> {
    if (this.dead) throw this.dead;
    const requestId = this.nextRequestId++;
    const reply = new Promise<ReplyFromWorker>((resolve, reject) => this.waiting.set(requestId, { resolve, reject }));
    this.updateRef();
    this.worker.postMessage({ ...command, requestId });
    this.wake();
    return reply;
  }
}

let thread: SupervisorThread | undefined;
let attached = false;
let attachedPlaceholderDir: string | undefined;

/**
 * Starts the supervisor thread ahead of startSupervisor(): its boot (an isolate of its own, koffi, its modules:
 * ~0.1 s) then runs beside whatever the caller loads meanwhile instead of after it. Nothing is trapped until
 * startSupervisor() installs the filter; a thread never used does not keep the process alive once it has
 * booted. (Loading the handler module in the thread ahead of the attach as well was measured: no gain.)
 */
export function prepareSupervisor(): void {
  if (thread || attached) return;
  thread = new SupervisorThread();
  thread.detachFromProcess();
}

/**
 * Starts emulating syscalls with the handler module at `handlerModule` (a file URL or path of a module whose
 * default export is a `HandlerFactory`). One handler at a time per process.
 */
export async function startSupervisor(
  handlerModule: string | URL,
  options: SupervisorOptions = {},
): Promise<Supervisor> {
  if (attached) throw new Error('a seccomp supervisor is already running in this process; stop it first');
  attached = true;
  try {
    thread ??= new SupervisorThread();
    await thread.whenReady();
    const reserved = options.reservedFds ?? DEFAULT_RESERVED_FDS;
    const plan: FilterPlan = {
      reservedFdFirst: reserved.first,
      reservedFdCount: reserved.count,
      fdSyscalls: options.fdSyscalls ?? defaultFdSyscalls,
    };
    const firstInstall = !installedFilter();
    const filter = installFilterOnce(plan);
    if (firstInstall) {
      await thread.command({
        type: 'listen',
        listenerFd: filter.listenerFd,
        reservedFdFirst: plan.reservedFdFirst,
        reservedFdCount: plan.reservedFdCount,
      });
    }
    const moduleUrl = handlerModule instanceof URL ? handlerModule.href : new URL(handlerModule, 'file://').href;
    const reply = await thread.command({
      type: 'attach',
      handlerModule: moduleUrl,
      handlerOptions: options.handlerOptions,
    });
    if (reply.type !== 'attached') throw new Error('seccomp supervisor: unexpected reply to attach');
    const running = thread;
    let stopped = false;
    attachedPlaceholderDir = reply.placeholderDir;
    return {
      placeholderDir: reply.placeholderDir,
      listenerFd: filter.listenerFd,
      async message(payload: unknown) {
        if (stopped) throw new Error('seccomp supervisor: stopped');
        const answer = await running.command({ type: 'message', payload });
        if (answer.type !== 'answer') throw new Error('seccomp supervisor: unexpected reply to message');
        return answer.value;
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        try {
          await running.command({ type: 'detach' });
        } finally {
          attached = false;
          attachedPlaceholderDir = undefined;
        }
      },
    };
  } catch (e) {
    attached = false;
    // A worker left behind with no filter to serve would keep the process alive: a failed first start (an
    // inherited filter, say) must let the process exit.
    if (thread && !installedFilter()) {
      const idle = thread;
      thread = undefined;
      await idle.terminate();
    }
    throw e;
  }
}
