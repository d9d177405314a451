/**
 * The two bulk loops of the stream, over plain fds so they run the same in this thread or in a worker
 * (stream-worker.ts): save's "copy until a limit, the end, or nothing-for-now" and load's "copy to the end,
 * holding back what may be the trailer". Failures are FdIoErrors: `read` failed on the input, `write` on
 * the output; the caller knows which side is the device.
 *
 * Both stop in slices: on this thread the caller then gives the event loop a turn (so a signal handler
 * can cancel), waits for a stalled peer without blocking it, and goes on. A worker waits in place.
 */
import {
  FdIoError,
  peerRead,
  peerWaitAsync,
  peerWaitSync,
  readSome,
  READ_NOTHING_NOW,
  READ_WOULD_BLOCK,
  throwIfCancelled,
  WOULD_BLOCK,
  writeAll,
  yieldToEventLoop,
  type PeerIo,
  type ReadCounters,
} from './fd-io.js';
import type { StreamChecksum } from './checksum.js';
import { CHUNK } from './chunk.js';
import { Errno, lastErrno, pread } from '../sys/index.js';

/** eof: read() returned 0; nothing-now: ENOMSG; would-block: EAGAIN after a poll; limit: `limit` bytes moved. */
export type CopyEnd = 'eof' | 'nothing-now' | 'would-block' | 'limit';

export interface CopyResult {
  bytes: number;
  end: CopyEnd;
}

/** Bytes a loop on the caller's thread moves before it gives the event loop a turn. */
export const SLICE = 16 * CHUNK;

/**
 * Read up to `limit` bytes from `from` into `buf` (a chunk at a time), handing each chunk to `give`. With
 * `pause`, it also stops (end `limit`, fewer bytes) after a chunk when `pause()` says so.
 */
export function copySome(
  from: number,
  buf: Buffer,
  limit: number,
  give: (length: number) => void,
  io: ReadCounters,
  pause?: () => boolean,
): CopyResult {
  let bytes = 0;
  while (bytes < limit) {
    const n = readSome(from, buf, 0, Math.min(CHUNK, limit - bytes), io);
    if (n === 0) return { bytes, end: 'eof' };
    if (n === READ_NOTHING_NOW) return { bytes, end: 'nothing-now' };
    if (n === READ_WOULD_BLOCK) return { bytes, end: 'would-block' };
    give(n);
    bytes += n;
    if (pause?.()) break;
  }
  return { bytes, end: 'limit' };
}

export interface HeldCopyResult {
  /** Bytes written to the output (the body). */
  body: number;
  /** The last `hold` bytes of the input (fewer if it was shorter): the trailer, if the input is whole. */
  tail: Buffer;
}

/** Where a held copy is between steps. */
interface HeldState {
  held: number;
  body: number;
  /** When a byte last came from the peer (for its idle bound). */
  since: number;
}

/**
 * One step of the held copy: read from the peer until its end, until it has nothing now (`blocked`), or
 * until `slice` bytes went out; keeps the last `hold` bytes back and adds what goes out to `checksum`.
 */
function heldStep(
  from: PeerIo,
  to: number,
  buf: Buffer,
  hold: number,
  checksum: StreamChecksum | null,
  onBytes: (n: number) => void,
  io: ReadCounters,
  st: HeldState,
  slice: number,
): 'eof' | 'blocked' | 'slice' {
  let moved = 0;
  for (;;) {
    throwIfCancelled(from.cancel, 'read');
    const n = peerRead(from, buf, st.held, CHUNK);
    if (n === WOULD_BLOCK) {
      io.eagain++;
      return 'blocked';
    }
    if (n === 0) return 'eof';
    st.since = performance.now();
    const have = st.held + n;
    const out = have - hold;
    if (out > 0) {
      checksum?.update(out);
      writeAll(to, buf, out, io);
      st.body += out;
      onBytes(out);
      if (hold) buf.copy(buf, 0, out, have);
      st.held = hold;
      moved += out;
      if (moved >= slice) return 'slice';
    } else st.held = have;
  }
}

/**
 * Copy the peer `from` to `to` until the end of input, keeping the last `hold` bytes back (the trailer) and
 * adding what goes out to `checksum`. `buf` must hold CHUNK + hold bytes (the checksum's buffer does).
 * Waits for the peer block this thread (bounded): for worker threads.
 */
export function copyHoldingTail(
  from: PeerIo,
  to: number,
  buf: Buffer,
  hold: number,
  checksum: StreamChecksum | null,
  onBytes: (n: number) => void,
  io: ReadCounters,
): HeldCopyResult {
  const st: HeldState = { held: 0, body: 0, since: performance.now() };
  for (;;) {
    const r = heldStep(from, to, buf, hold, checksum, onBytes, io, st, Infinity);
    if (r === 'eof') break;
    peerWaitSync(from, 'read', st.since);
  }
  return { body: st.body, tail: Buffer.from(buf.subarray(0, st.held)) };
}

/** The same copy for the caller's thread: the event loop gets a turn every SLICE bytes and while waiting. */
export async function copyHoldingTailAsync(
  from: PeerIo,
  to: number,
  buf: Buffer,
  hold: number,
  checksum: StreamChecksum | null,
  onBytes: (n: number) => void,
  io: ReadCounters,
): Promise<HeldCopyResult> {
  const st: HeldState = { held: 0, body: 0, since: performance.now() };
  for (;;) {
    const r = heldStep(from, to, buf, hold, checksum, onBytes, io, st, SLICE);
    if (r === 'eof') break;
    if (r === 'blocked') await peerWaitAsync(from, 'read', st.since);
    else await yieldToEventLoop();
  }
  return { body: st.body, tail: Buffer.from(buf.subarray(0, st.held)) };
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
