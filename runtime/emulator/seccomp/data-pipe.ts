/**
 * A data fd made of a real pipe. For a saving stream the caller gets the read end and the supervisor keeps
 * the pipe fed from a `DataSource`; the caller's reads are let through (CONTINUE) and run at pipe speed.
 * For a resuming stream the caller gets the write end and the supervisor drains it into a `DataSink`.
 *
 * The supervisor's poll loop calls `service()` when the pipe is ready; nothing here blocks.
 *
 * The supervisor runs on the reader's CPU (every trapped read waits for its CONTINUE), so whatever it spends
 * per byte lands inside the caller's reads. A source with `gather` therefore hands over its bytes as pieces:
 * small or changing ones are copied into `chunk` and written; `reference` pieces (memory that never changes,
 * like the cached block of generated content) go in with vmsplice(2), so the pipe points at their pages and
 * the only copy left is the reader's own. vmsplice without SPLICE_F_GIFT needs those pages unmodified until
 * the reader consumed them; the `GatherSink.reference` contract (never modified, never released) gives that
 * for any time the pipe may hold them. Copied pieces never need that: write(2) copies them into the pipe
 * before it returns, so `chunk` is free again as soon as the queue is pushed. Where vmsplice is refused the
 * referenced pieces go in with writev(2) instead (one copy, still no staging).
 */
import {
  F_SETPIPE_SZ,
  FIONREAD,
  O_CLOEXEC,
  O_NONBLOCK,
  POLLIN,
  POLLOUT,
  SPLICE_F_NONBLOCK,
} from '../../sys/constants.js';
import { Errno } from '../../sys/errno.js';
import {
  addressOf,
  close,
  fcntl,
  ioctl,
  lastErrno,
  pipe2OrThrow,
  read,
  vmsplice,
  write,
  writev,
} from '../../sys/libc.js';
import type { DataSink, DataSource, GatherSink } from './handler.js';

/** A run of bytes waiting to go into the pipe: `length` bytes at `start` in `chunk`, or at `address`. */
interface Run {
  copied: boolean;
  start: number;
  address: bigint;
  length: number;
}

export const DEFAULT_PIPE_SIZE = 1 << 20;

export class DataPipe {
  /** The end handed to the caller (install it with `installFd` or an `addFd` answer). */
  readonly callerEnd: number;
  /** The end the supervisor uses. */
  readonly ourEnd: number;
  /** For source pipes, a read end we keep only to ask how much is buffered. */
  private readonly probeEnd: number;
  readonly direction: 'toCaller' | 'fromCaller';
  private closed = false;
  private callerEndReleased = false;
  private readonly chunk: Buffer;
  /** Bytes produced and not yet in the pipe, in order; `runs[runHead]` goes next. */
  private readonly runs: Run[] = [];
  private runHead = 0;
  /** Total length of the runs not yet in the pipe. */
  private queued = 0;
  /** Bytes of `chunk` used by the copied runs of the current queue. */
  private chunkUsed = 0;
  /** One struct iovec for vmsplice/writev (outside the JS heap). */
  private readonly iov = Buffer.allocUnsafeSlow(16);
  private useVmsplice = true;
  private readonly sink: GatherSink = {
    copy: (from, start, end) => this.queueCopy(from, start, end),
    reference: (from, start, end) => this.queueReference(from, start, end),
  };
  private sourceDry = false;
  private readonly countBuf = new Int32Array(1);
  /** Bytes pushed into (toCaller) or taken out of (fromCaller) the pipe so far. */
  bytesMoved = 0;

  private constructor(
    direction: 'toCaller' | 'fromCaller',
    private readonly source: DataSource | undefined,
    private readonly dataSink: DataSink | undefined,
    pipeSize: number,
    private readonly onChange: () => void,
  ) {
    this.direction = direction;
    const [readEnd, writeEnd] = pipe2OrThrow(O_CLOEXEC);
    // A 1 MiB pipe lets each caller read return a full 1 MiB, like a real data fd; unprivileged callers
    // may go up to /proc/sys/fs/pipe-max-size, so a refusal just keeps the default size.
    fcntl(writeEnd, F_SETPIPE_SZ, pipeSize);
    if (direction === 'toCaller') {
      this.callerEnd = readEnd;
      this.ourEnd = writeEnd;
      this.probeEnd = readEnd;
    } else {
      this.callerEnd = writeEnd;
      this.ourEnd = readEnd;
      this.probeEnd = readEnd;
    }
    fcntl(this.ourEnd, 4 /* F_SETFL */, O_NONBLOCK);
    this.chunk = Buffer.allocUnsafe(pipeSize);
  }

  static toCaller(source: DataSource, pipeSize: number, onChange: () => void): DataPipe {
    const pipe = new DataPipe('toCaller', source, undefined, pipeSize, onChange);
    pipe.prefetch();
    return pipe;
  }

  static fromCaller(sink: DataSink, pipeSize: number, onChange: () => void): DataPipe {
    return new DataPipe('fromCaller', undefined, sink, pipeSize, onChange);
  }

  /**
   * Bytes produced but not yet read by the caller: what sits in the pipe plus what is ready to be pushed.
   * When this is > 0 a CONTINUE'd read is sure to return data instead of blocking.
   */
  pendingBytes(): number {
    if (this.closed) return 0;
    return this.buffered() + this.queued;
  }

  /** For a source pipe: bytes the caller has already read out of the pipe. */
  bytesReadByCaller(): number {
    return this.bytesMoved - this.buffered();
  }

  /** Bytes sitting in the pipe right now. */
  buffered(): number {
    if (this.closed) return 0;
    return ioctl(this.probeEnd, FIONREAD, this.countBuf) === 0 ? this.countBuf[0]! : 0;
  }

  /** The source had nothing to give last time it was asked; `wake()` asks again. */
  get isDry(): boolean {
    return this.sourceDry && this.queued === 0;
  }

  /** Ask the source again (new data appeared in the model). */
  wake(): void {
    if (this.closed || this.direction !== 'toCaller') return;
    this.sourceDry = false;
    this.prefetch();
    this.onChange();
  }

  /** The poll events the supervisor should wait for on `ourEnd`, or 0 when idle. */
  wantedEvents(): number {
    if (this.closed) return 0;
    if (this.direction === 'fromCaller') return POLLIN;
    return this.queued > 0 ? POLLOUT : 0;
  }

  /** Moves as many bytes as the pipe takes right now. */
  service(): void {
    if (this.closed) return;
    if (this.direction === 'toCaller') this.push();
    else this.drain();
  }

  private prefetch(): void {
    if (this.queued > 0 || this.sourceDry || !this.source) return;
    this.runs.length = 0;
    this.runHead = 0;
    this.chunkUsed = 0;
    if (this.source.gather) {
      this.source.gather(this.chunk.length, this.sink);
    } else {
      const n = Math.max(0, Math.min(this.source(this.chunk), this.chunk.length));
      if (n > 0) this.runs.push({ copied: true, start: 0, address: 0n, length: n });
      this.queued = n;
    }
    if (this.queued === 0) this.sourceDry = true;
  }

  private queueCopy(from: Buffer, start: number, end: number): void {
    const n = end - start;
    if (n <= 0) return;
    if (this.queued + n > this.chunk.length) throw new RangeError('a gathering source gave more than it was asked');
    from.copy(this.chunk, this.chunkUsed, start, end);
    const last = this.runs[this.runs.length - 1];
    if (last?.copied && last.start + last.length === this.chunkUsed) last.length += n;
    else this.runs.push({ copied: true, start: this.chunkUsed, address: 0n, length: n });
    this.chunkUsed += n;
    this.queued += n;
  }

  private queueReference(from: Buffer, start: number, end: number): void {
    const n = end - start;
    if (n <= 0) return;
    if (this.queued + n > this.chunk.length) throw new RangeError('a gathering source gave more than it was asked');
    this.runs.push({ copied: false, start: 0, address: addressOf(from) + BigInt(start), length: n });
    this.queued += n;
  }

  /** Puts one run (or the part of it the pipe takes) into the pipe; the raw result of the call. */
  private pushRun(run: Run): number {
    if (run.copied) return write(this.ourEnd, this.chunk.subarray(run.start, run.start + run.length));
    this.iov.writeBigUInt64LE(run.address, 0);
    this.iov.writeBigUInt64LE(BigInt(run.length), 8);
    if (this.useVmsplice) {
      const n = vmsplice(this.ourEnd, this.iov, 1, SPLICE_F_NONBLOCK);
      const errno = n < 0 ? lastErrno() : 0;
      if (errno !== Errno.ENOSYS && errno !== Errno.EPERM && errno !== Errno.EINVAL) return n;
      this.useVmsplice = false; // refused here (a seccomp policy, an old kernel): copy instead
    }
    return writev(this.ourEnd, this.iov, 1);
  }

  private push(): void {
    while (this.queued > 0) {
      const run = this.runs[this.runHead]!;
      const n = this.pushRun(run);
      if (n < 0) {
        if (lastErrno() === Errno.EAGAIN) return;
        this.close(); // EPIPE: nobody can read any more
        return;
      }
      this.bytesMoved += n;
      this.queued -= n;
      run.start += n;
      run.address += BigInt(n);
      run.length -= n;
      if (run.length === 0) this.runHead++;
      if (this.queued === 0) this.prefetch();
    }
  }

  private drain(): void {
    for (;;) {
      const n = read(this.ourEnd, this.chunk);
      if (n > 0) {
        this.bytesMoved += n;
        this.dataSink!.data(this.chunk.subarray(0, n));
        continue;
      }
      if (n === 0) {
        // Every write end is closed (we hold none), so the caller is done.
        this.dataSink!.end?.();
        this.close();
      } else if (lastErrno() !== Errno.EAGAIN) {
        this.close();
      }
      return;
    }
  }

  /**
   * Called once the caller holds its own copy of `callerEnd`. A sink pipe must not keep a write end open
   * itself, or the caller's close would never read as end-of-stream.
   */
  releaseCallerEnd(): void {
    if (this.direction === 'fromCaller' && !this.callerEndReleased) {
      this.callerEndReleased = true;
      close(this.callerEnd);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    close(this.ourEnd);
    if (this.direction === 'toCaller') close(this.probeEnd);
    else this.releaseCallerEnd();
    this.onChange();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
