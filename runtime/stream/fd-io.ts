/**
 * The sync read/write primitives the stream loops are built on: raw libc calls on one reused buffer, errno
 * handled in place. EINTR is retried, EAGAIN waits in poll(), short reads and writes are normal.
 */
import {
  Errno,
  errnoName,
  lastErrno,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  poll,
  POLLIN,
  POLLOUT,
  read,
  recv,
  send,
  write,
} from '../sys/index.js';

/** read() found nothing for now (ENOMSG: temporary end of the pre-copy stream). */
export const READ_NOTHING_NOW = -1;
/** A non-blocking fd still had nothing after a poll (EAGAIN twice): not the device's ENOMSG. */
export const READ_WOULD_BLOCK = -2;

/** One struct pollfd, reused by every single-fd poll of this thread. */
const pollBuf = Buffer.alloc(8);

/** poll() one fd for `events` up to `timeoutMs`: poll's result (errno in lastErrno() when negative). */
export function pollOne(fd: number, events: number, timeoutMs: number): number {
  pollBuf.writeInt32LE(fd, 0);
  pollBuf.writeInt16LE(events, 4);
  pollBuf.writeInt16LE(0, 6);
  return poll(pollBuf, 1, timeoutMs);
}

export interface ReadCounters {
  eintr: number;
  eagain: number;
  enomsg: number;
}

/**
 * One read of up to `length` bytes into buf at `offset`. Returns the byte count (0 = end of data),
 * READ_NOTHING_NOW for ENOMSG, or READ_WOULD_BLOCK when a non-blocking fd answering EAGAIN still has nothing
 * after a poll of at most `eagainWaitMs`. Throws an FdIoError for anything else.
 */
export function readSome(
  fd: number,
  buf: Buffer,
  offset: number,
  length: number,
  counters: ReadCounters,
  eagainWaitMs = 1000,
): number {
  for (;;) {
    const n = read(fd, offset === 0 ? buf : buf.subarray(offset), length);
    if (n >= 0) return n;
    const errno = lastErrno();
    if (errno === Errno.EINTR) {
      counters.eintr++;
      continue;
    }
    if (errno === Errno.EAGAIN) {
      counters.eagain++;
      pollOne(fd, POLLIN, eagainWaitMs);
      const again = read(fd, offset === 0 ? buf : buf.subarray(offset), length);
      if (again >= 0) return again;
      const e2 = lastErrno();
      if (e2 === Errno.EAGAIN || e2 === Errno.EINTR) {
        counters.eagain++;
        return READ_WOULD_BLOCK;
      }
      if (e2 === Errno.ENOMSG) {
        counters.enomsg++;
        return READ_NOTHING_NOW;
      }
      throw new FdIoError('read', e2);
    }
    if (errno === Errno.ENOMSG) {
      counters.enomsg++;
      return READ_NOTHING_NOW;
    }
    throw new FdIoError('read', errno);
  }
}

/** Write all `length` bytes of buf (from 0), across short writes, EINTR and EAGAIN. */
export function writeAll(fd: number, buf: Buffer, length: number, counters: ReadCounters): void {
  let done = 0;
  while (done < length) {
    const n = write(fd, done === 0 ? buf : buf.subarray(done), length - done);
    if (n > 0) {
      done += n;
      continue;
    }
    const errno = n === 0 ? Errno.EIO : lastErrno();
    if (errno === Errno.EINTR) {
      counters.eintr++;
      continue;
    }
    if (errno === Errno.EAGAIN) {
      counters.eagain++;
      pollOne(fd, POLLOUT, 1000);
      continue;
    }
    throw new FdIoError('write', errno);
  }
}

/** A read or write failure with its errno, turned into a VfioError by the caller that knows the context. */
export class FdIoError extends Error {
  constructor(
    readonly call: 'read' | 'write',
    readonly errno: number,
  ) {
    super(`${call} failed: ${errnoName(errno)}`);
  }
}

// ---- the other side of a stream (a peer): bounded, cancellable waits ----

/**
 * How bytes move through a peer's fd:
 *  - `blocking`: a regular file or a device node (/dev/null, a tty): plain read/write, never EAGAIN;
 *  - `nonblocking`: a pipe or FIFO opened privately with O_NONBLOCK (see endpoints.ts): EAGAIN means wait;
 *  - `socket`: send/recv with MSG_DONTWAIT, which waits in no call whatever the fd's own flags (an inherited
 *    socket's flags are shared with whoever else holds it, so they are left alone).
 */
export type PeerMode = 'blocking' | 'nonblocking' | 'socket';

/** A peer fd and the bounds on waiting for it. Plain data, so it crosses to the stream worker as is. */
export interface PeerIo {
  fd: number;
  mode: PeerMode;
  /** Longest wait, in ms, for the peer to take or give the next byte; then ETIMEDOUT. */
  idleMs: number;
  /** A flag over a SharedArrayBuffer: non-zero stops every wait and loop with ECANCELED. */
  cancel: Int32Array | null;
}

/** peerRead/peerWrite: the peer cannot take or give anything right now. */
export const WOULD_BLOCK = -2;

/** Longest single poll() while waiting, so a cancel flag set by another thread is seen within it. */
const WAIT_SLICE_MS = 50;

export function isCancelled(cancel: Int32Array | null): boolean {
  return cancel !== null && Atomics.load(cancel, 0) !== 0;
}

/** Throw ECANCELED if the flag is set. */
export function throwIfCancelled(cancel: Int32Array | null, call: 'read' | 'write'): void {
  if (isCancelled(cancel)) throw new FdIoError(call, Errno.ECANCELED);
}

/** One write to the peer: bytes taken (> 0) or WOULD_BLOCK. Throws FdIoError for anything else. */
export function peerWrite(p: PeerIo, buf: Buffer, offset: number, length: number): number {
  const from = offset === 0 ? buf : buf.subarray(offset);
  for (;;) {
    const n = p.mode === 'socket' ? send(p.fd, from, length, MSG_DONTWAIT | MSG_NOSIGNAL) : write(p.fd, from, length);
    if (n > 0) return n;
    const errno = n === 0 ? Errno.EIO : lastErrno();
    if (errno === Errno.EINTR) continue;
    if (errno === Errno.EAGAIN) return WOULD_BLOCK;
    throw new FdIoError('write', errno);
  }
}

/** One read from the peer: bytes (> 0), 0 at its end, or WOULD_BLOCK. Throws FdIoError for anything else. */
export function peerRead(p: PeerIo, buf: Buffer, offset: number, length: number): number {
  const into = offset === 0 ? buf : buf.subarray(offset);
  for (;;) {
    const n = p.mode === 'socket' ? recv(p.fd, into, length, MSG_DONTWAIT) : read(p.fd, into, length);
    if (n >= 0) return n;
    const errno = lastErrno();
    if (errno === Errno.EINTR) continue;
    if (errno === Errno.EAGAIN) return WOULD_BLOCK;
    throw new FdIoError('read', errno);
  }
}

/** poll() the peer for up to `ms`; true when it is ready (or in error or hung up: the next call says which). */
function pollPeer(p: PeerIo, events: number, ms: number): boolean {
  const n = pollOne(p.fd, events, Math.max(0, Math.ceil(ms)));
  if (n < 0 && lastErrno() !== Errno.EINTR) return true; // let the next read/write report it
  return n > 0;
}

/**
 * Wait (blocking this thread) until the peer is ready for `call`, in slices that watch the cancel flag.
 * `since` is when a byte last moved: past `since + idleMs`, ETIMEDOUT.
 */
export function peerWaitSync(p: PeerIo, call: 'read' | 'write', since: number): void {
  const events = call === 'read' ? POLLIN : POLLOUT;
  for (;;) {
    throwIfCancelled(p.cancel, call);
    const left = since + p.idleMs - performance.now();
    if (left <= 0) throw new FdIoError(call, Errno.ETIMEDOUT);
    if (pollPeer(p, events, Math.min(left, WAIT_SLICE_MS))) return;
  }
}

/** The same wait, giving the event loop a turn between short polls (signal handlers, timers, I/O run). */
export async function peerWaitAsync(p: PeerIo, call: 'read' | 'write', since: number): Promise<void> {
  const events = call === 'read' ? POLLIN : POLLOUT;
  for (;;) {
    throwIfCancelled(p.cancel, call);
    const left = since + p.idleMs - performance.now();
    if (left <= 0) throw new FdIoError(call, Errno.ETIMEDOUT);
    if (pollPeer(p, events, Math.min(left, 10))) return;
    await yieldToEventLoop();
  }
}

/** One turn of the event loop (its I/O phase included, where Node runs signal handlers). */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Write all of buf[0, length) to the peer, waiting (bounded) while it is full. For worker threads and small writes. */
export function peerWriteAllSync(p: PeerIo, buf: Buffer, length: number, counters: ReadCounters): void {
  let done = 0;
  let since = performance.now();
  while (done < length) {
    const n = peerWrite(p, buf, done, length - done);
    if (n === WOULD_BLOCK) {
      counters.eagain++;
      peerWaitSync(p, 'write', since);
      continue;
    }
    done += n;
    since = performance.now();
  }
}

/** Write all of buf[0, length) to the peer; waits let the event loop run. */
export async function peerWriteAllAsync(p: PeerIo, buf: Buffer, length: number, counters: ReadCounters): Promise<void> {
  let done = 0;
  let since = performance.now();
  while (done < length) {
    const n = peerWrite(p, buf, done, length - done);
    if (n === WOULD_BLOCK) {
      counters.eagain++;
      await peerWaitAsync(p, 'write', since);
      continue;
    }
    done += n;
    since = performance.now();
  }
}

/** Read exactly `length` bytes from the peer (fewer only at its end); waits let the event loop run. */
export async function peerReadFullyAsync(
  p: PeerIo,
  buf: Buffer,
  length: number,
  counters: ReadCounters,
): Promise<number> {
  let got = 0;
  let since = performance.now();
  while (got < length) {
    const n = peerRead(p, buf, got, length - got);
    if (n === 0) break;
    if (n === WOULD_BLOCK) {
      counters.eagain++;
      await peerWaitAsync(p, 'read', since);
      continue;
    }
    got += n;
    since = performance.now();
  }
  return got;
}
