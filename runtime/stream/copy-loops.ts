/**
 * The two bulk loops of the stream, over plain fds so they run the same in this thread or in a worker
 * (stream-worker.ts): save's "copy until a limit, the end, or nothing-for-now" and load's "copy to the end,
 * holding back what may be the trailer". Failures are FdIoErrors: `read` failed on the input, `write` on
 * the output; the caller knows which side is the device.
 */
import { FdIoError, readSome, READ_NOTHING_NOW, READ_WOULD_BLOCK, writeAll, type ReadCounters } from './fd-io.js';
import type { StreamChecksum } from './checksum.js';
import { CHUNK } from './chunk.js';
import { Errno, lastErrno, pread } from '../sys/index.js';

/** eof: read() returned 0; nothing-now: ENOMSG; would-block: EAGAIN after a poll; limit: `limit` bytes moved. */
export type CopyEnd = 'eof' | 'nothing-now' | 'would-block' | 'limit';

export interface CopyResult {
  bytes: number;
  end: CopyEnd;
}

/** Read up to `limit` bytes from `from` into `buf` (a chunk at a time), handing each chunk to `give`. */
export function copySome(
  from: number,
  buf: Buffer,
  limit: number,
  give: (length: number) => void,
  io: ReadCounters,
): CopyResult {
  let bytes = 0;
  while (bytes < limit) {
    const n = readSome(from, buf, 0, Math.min(CHUNK, limit - bytes), io);
    if (n === 0) return { bytes, end: 'eof' };
    if (n === READ_NOTHING_NOW) return { bytes, end: 'nothing-now' };
    if (n === READ_WOULD_BLOCK) return { bytes, end: 'would-block' };
    give(n);
    bytes += n;
  }
  return { bytes, end: 'limit' };
}

export interface HeldCopyResult {
  /** Bytes written to the output (the body). */
  body: number;
  /** The last `hold` bytes of the input (fewer if it was shorter): the trailer, if the input is whole. */
  tail: Buffer;
}

/**
 * Copy `from` to `to` until the end of input, keeping the last `hold` bytes back (the trailer) and adding
 * what goes out to `checksum`. `buf` must hold CHUNK + hold bytes (the checksum's buffer does).
 */
export function copyHoldingTail(
  from: number,
  to: number,
  buf: Buffer,
  hold: number,
  checksum: StreamChecksum | null,
  onBytes: (n: number) => void,
  io: ReadCounters,
): HeldCopyResult {
  let held = 0;
  let body = 0;
  for (;;) {
    const n = readSome(from, buf, held, CHUNK, io);
    if (n === READ_NOTHING_NOW || n === READ_WOULD_BLOCK) continue;
    if (n === 0) break;
    const have = held + n;
    const out = have - hold;
    if (out > 0) {
      checksum?.update(out);
      writeAll(to, buf, out, io);
      body += out;
      onBytes(out);
      if (hold) buf.copy(buf, 0, out, have);
      held = hold;
    } else held = have;
  }
  return { body, tail: Buffer.from(buf.subarray(0, held)) };
}

/**
 * Add `length` bytes of a regular file, from `offset`, to `checksum` with positioned reads (the file position
 * is left alone). Returns how many bytes were there: fewer than `length` when the file is shorter now.
 */
export function checksumRange(fd: number, offset: number, length: number, checksum: StreamChecksum): number {
  const buf = checksum.buffer;
  let done = 0;
  while (done < length) {
    const n = pread(fd, buf, Math.min(CHUNK, length - done), offset + done);
    if (n === 0) break;
    if (n < 0) {
      const errno = lastErrno();
      if (errno === Errno.EINTR) continue;
      throw new FdIoError('read', errno);
    }
    checksum.update(n);
    done += n;
  }
  return done;
}
