/**
 * The contract between the seccomp mechanism and whatever it emulates (a VFIO device model, a demo...).
 *
 * A handler module is loaded inside the supervisor worker. Its default export is a factory
 * `(env: HandlerEnvironment) => SyscallHandler | Promise<SyscallHandler>`. The mechanism calls the handler
 * for every trapped syscall that concerns the emulator:
 *  - any ';'-type ioctl on a file inside `env.placeholderDir` (`target.kind === 'placeholder'`);
 *  - any trapped syscall on an fd the handler installed into the caller (`target.kind === 'installed'`).
 * Everything else is let through (CONTINUE) without involving the handler.
 *
 * Each hook returns an `Answer`. Methods run synchronously on the supervisor thread while the caller
 * waits, so keep them short; never block in them.
 */
import type { DataPipe } from './data-pipe.js';

export type Answer =
  /** Complete the syscall with this return value. */
  | { value: number }
  /** Fail the syscall with this positive errno (ENOMSG is 42). */
  | { errno: number }
  /** Let the kernel run the syscall itself, as if it had not been trapped. */
  | { continue: true }
  /** Install `fd` (ours) into the caller and make the syscall return the caller's new fd number. */
  | { addFd: InstallOptions & { fd: number } };

export const CONTINUE: Answer = Object.freeze({ continue: true });
export const value = (v: number): Answer => ({ value: v });
export const fail = (errno: number): Answer => ({ errno });

export interface InstallOptions {
  /** Anything the handler wants back when the caller later uses the fd (`target.tag`). */
  tag?: unknown;
  /** A data pipe whose caller end this fd is (reads/writes on it then see `target.dataPipe`). */
  dataPipe?: DataPipe;
  /** O_CLOEXEC on the caller's fd; default true, as VFIO sets on the fds it creates. */
  cloexec?: boolean;
  /** Close our copy of the fd once installed (the caller keeps its own). Default false. */
  closeOurs?: boolean;
}

/** What the trapped fd refers to. */
export type FdTarget =
  { kind: 'placeholder'; path: string } | { kind: 'installed'; tag: unknown; dataPipe: DataPipe | undefined };

/** Thrown by `readMem`/`writeMem` on a bad caller pointer; the mechanism answers with its errno (EFAULT). */
export class CallerFault extends Error {
  constructor(
    readonly errno: number,
    readonly address: bigint,
  ) {
    super(`caller memory at 0x${address.toString(16)} is not accessible`);
  }
}

/** Thrown by a hook to fail the syscall with an errno from deep inside a model. */
export class AnswerErrno extends Error {
  constructor(readonly errno: number) {
    super(`errno ${errno}`);
  }
}

/** One trapped syscall as the handler sees it. Valid only during the hook call. */
export interface TrappedCall {
  /** Syscall name ('ioctl', 'read', 'write', 'close', 'lseek', ...). */
  readonly syscall: string;
  /** Caller thread id. */
  readonly pid: number;
  readonly fd: number;
  /** Raw arguments, unsigned 64-bit. */
  readonly args: readonly bigint[];
  readonly target: FdTarget;
  /** Copies `length` bytes of caller memory; throws CallerFault (→ EFAULT) on a bad pointer. */
  readMem(address: bigint, length: number): Buffer;
  /** Writes into caller memory; throws CallerFault (→ EFAULT) on a bad pointer. */
  writeMem(address: bigint, data: Buffer): void;
  /**
   * Installs our `fd` into the caller at a free number in the reserved range, while the syscall is still
   * pending, and returns that number (e.g. to store in an ioctl's output struct). Throws AnswerErrno on failure.
   */
  installFd(fd: number, options?: InstallOptions): number;
  /** True while the caller still waits (checked by the mechanism already after path lookups). */
  stillValid(): boolean;
}

export interface IoctlCall extends TrappedCall {
  readonly request: number;
  /** The third argument: a pointer, or a value for by-value ioctls. */
  readonly arg: bigint;
}

export interface TransferCall extends TrappedCall {
  /** Caller buffer address. */
  readonly buffer: bigint;
  readonly count: number;
}

export interface SyscallHandler {
  ioctl?(call: IoctlCall): Answer;
  /** read() on an installed fd. Default: CONTINUE (a data pipe then behaves like the pipe it is). */
  read?(call: TransferCall): Answer;
  /** write() on an installed fd. Default: CONTINUE. */
  write?(call: TransferCall): Answer;
  /** The caller closes an installed fd. The close itself always goes through; its data pipe is closed after. */
  close?(call: TrappedCall): void;
  /** Any other trapped syscall on an installed fd (lseek, pread64, pwrite64, readv, writev, fcntl, fstat). */
  other?(call: TrappedCall): Answer;
  /**
   * A structured-cloneable request from the main thread (`supervisor.message(payload)`), answered with a
   * structured-cloneable value; for control and inspection (fault injection, snapshots), never for syscalls.
   */
  message?(payload: unknown): unknown;
  /** The supervisor stops: release what the handler holds. */
  dispose?(): void;
}

/** Tools the mechanism gives a handler when it is created. */
export interface HandlerEnvironment {
  /** Directory whose files act as emulated device nodes; create them here. */
  placeholderDir: string;
  /** The structured-clone of `options.handlerOptions` from `startSupervisor`. */
  options: unknown;
  /** A pipe whose read end goes to the caller; the mechanism keeps it fed from `source`. */
  createSourcePipe(source: DataSource, options?: { pipeSize?: number }): DataPipe;
  /** A pipe whose write end goes to the caller; the mechanism drains it into `sink`. */
  createSinkPipe(sink: DataSink, options?: { pipeSize?: number }): DataPipe;
  /** Lets a model report something without console noise inside the worker. */
  log(message: string): void;
}

/**
 * Produces the next bytes of an outgoing stream: fill `into` from the start and return how many bytes are
 * valid. Return 0 when nothing is available now; call `pipe.wake()` when more appears.
 *
 * A source may also offer `gather`: hand the next (at most `max`) bytes to `sink` as pieces, in stream order,
 * and return how many bytes it handed over. The pipe then prefers `gather` and skips the copy into a
 * buffer of its own for the pieces given by `reference`.
 */
export type DataSource = ((into: Buffer) => number) & { gather?(max: number, sink: GatherSink): number };

/** Where a gathering source hands its pieces. */
export interface GatherSink {
  /** Bytes [start, end) of `from`, copied before this call returns (`from` may change afterwards). */
  copy(from: Buffer, start: number, end: number): void;
  /**
   * Bytes [start, end) of `from`, which the pipe may reference instead of copying (vmsplice): `from` must be
   * backed by memory outside the JavaScript heap (not a small on-heap typed array), never modified and never
   * released while the process lives, because the pipe keeps pointing at its pages until the reader has
   * consumed them.
   */
  reference(from: Buffer, start: number, end: number): void;
}

/** Receives the bytes the caller wrote, in order; `end` is called once the caller closed its end. */
export interface DataSink {
  data(chunk: Buffer): void;
  end?(): void;
}

export type HandlerFactory = (env: HandlerEnvironment) => SyscallHandler | Promise<SyscallHandler>;
