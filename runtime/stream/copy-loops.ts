/**
 * The two bulk loops of the stream, over plain fds so they run the same in this thread or in a worker
 * (stream-worker.ts): save's "copy until a limit, the end, or nothing-for-now" and load's "copy to the end,
 * holding back what may be the trailer". Failures are FdIoErrors: `read` failed on the input, `write` on
 * the output; the caller knows which side is the device.
 */
import { readSome, READ_NOTHING_NOW, writeAll, type ReadCounters } from './fd-io.js';
import type { StreamChecksum } from './checksum.js';
import { CHUNK } from './chunk.js';

export type CopyEnd = 'eof' | 'nothing-now' | 'limit';

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
    if (n === READ_NOTHING_NOW) continue;
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
