/**
 * A data fd made of a real pipe. For a saving stream the caller gets the read end and the supervisor keeps
 * the pipe fed from a `DataSource`; the caller's reads are let through (CONTINUE) and run at pipe speed.
 * For a resuming stream the caller gets the write end and the supervisor drains it into a `DataSink`.
 *
 * The supervisor's poll loop calls `service()` when the pipe is ready; nothing here blocks.
 */
import { F_SETPIPE_SZ, FIONREAD, O_CLOEXEC, O_NONBLOCK, POLLIN, POLLOUT } from '../../sys/constants.js';
import { Errno } from '../../sys/errno.js';
import { close, fcntl, ioctl, lastErrno, pipe2OrThrow, read, write } from '../../sys/libc.js';
import type { DataSink, DataSource } from './handler.js';

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
  private chunkStart = 0;
  private chunkEnd = 0;
  private sourceDry = false;
  private readonly countBuf = new Int32Array(1);
  /** Bytes pushed into (toCaller) or taken out of (fromCaller) the pipe so far. */
  bytesMoved = 0;

  private constructor(
    direction: 'toCaller' | 'fromCaller',
    private readonly source: DataSource | undefined,
    private readonly sink: DataSink | undefined,
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
    return this.buffered() + (this.chunkEnd - this.chunkStart);
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
    return this.sourceDry && this.chunkEnd === this.chunkStart;
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
    return this.chunkEnd > this.chunkStart ? POLLOUT : 0;
  }

  /** Moves as many bytes as the pipe takes right now. */
  service(): void {
    if (this.closed) return;
    if (this.direction === 'toCaller') this.push();
    else this.drain();
  }

  private prefetch(): void {
    if (this.chunkEnd > this.chunkStart || this.sourceDry || !this.source) return;
    const n = this.source(this.chunk);
    this.chunkStart = 0;
    this.chunkEnd = Math.max(0, Math.min(n, this.chunk.length));
    if (this.chunkEnd === 0) this.sourceDry = true;
  }

  private push(): void {
    while (this.chunkEnd > this.chunkStart) {
      const n = write(this.ourEnd, this.chunk.subarray(this.chunkStart, this.chunkEnd));
      if (n < 0) {
        if (lastErrno() === Errno.EAGAIN) return;
        this.close(); // EPIPE: nobody can read any more
        return;
      }
      this.bytesMoved += n;
      this.chunkStart += n;
      if (this.chunkStart === this.chunkEnd) this.prefetch();
    }
  }

  private drain(): void {
    for (;;) {
      const n = read(this.ourEnd, this.chunk);
      if (n > 0) {
        this.bytesMoved += n;
        this.sink!.data(this.chunk.subarray(0, n));
        continue;
      }
      if (n === 0) {
        // Every write end is closed (we hold none), so the caller is done.
        this.sink!.end?.();
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
