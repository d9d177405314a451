/**
 * The sync read/write primitives the stream loops are built on: raw libc calls on one reused buffer, errno
 * handled in place. EINTR is retried, EAGAIN waits in poll(), short reads and writes are normal.
 */
import { Errno, lastErrno, poll, POLLIN, POLLOUT, read, write } from '../sys/index.js';

/** read() found nothing for now (ENOMSG: temporary end of the pre-copy stream). */
export const READ_NOTHING_NOW = -1;
/** A non-blocking fd still had nothing after a poll (EAGAIN twice): not the device's ENOMSG. */
export const READ_WOULD_BLOCK = -2;

const pollBuf = Buffer.alloc(8);

/** Wait until fd is readable (POLLIN) or writable (POLLOUT); up to `timeoutMs`. */
export function waitFor(fd: number, events: number, timeoutMs: number): void {
  pollBuf.writeInt32LE(fd, 0);
  pollBuf.writeInt16LE(events, 4);
  pollBuf.writeInt16LE(0, 6);
  poll(pollBuf, 1, timeoutMs);
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
      waitFor(fd, POLLIN, eagainWaitMs);
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

/** Read exactly `length` bytes (or fewer only at end of input). */
export function readFully(fd: number, buf: Buffer, length: number, counters: ReadCounters): number {
  let got = 0;
  let idle = 0;
  while (got < length) {
    const n = readSome(fd, buf, got, length - got, counters);
    if (n === 0) break;
    if (n < 0) {
      if (++idle > 1000) break;
      continue;
    }
    got += n;
  }
  return got;
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
      waitFor(fd, POLLOUT, 1000);
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
    super(`${call} failed with errno ${errno}`);
  }
}
