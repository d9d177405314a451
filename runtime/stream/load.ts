/**
 * Load: write a saved stream into a device in RESUMING, then move it on (RUNNING by default). The stream's
 * header is checked before the device is touched; the checksum and trailer are checked before the device leaves
 * RESUMING, so a damaged stream never gets to run.
 */
import type { StateName } from '../../generated/constants.js';
import type { Device } from '../device/device.js';
import { VfioError } from '../errors.js';
import type { MigrationSession } from '../migration/session.js';
import type { Endpoint } from './endpoints.js';
import { CHUNK } from './chunk.js';
import { copyHoldingTail } from './copy-loops.js';
import { FdIoError, readFully, type ReadCounters } from './fd-io.js';
import { StreamChecksum } from './checksum.js';
import {
  checkHeaderFixed,
  checksumHex,
  decodeHeader,
  decodeTrailer,
  HEADER_FIXED,
  TRAILER_SIZE,
  type StreamHeader,
} from './format.js';
import { ProgressMeter, type ProgressListener } from './progress.js';
import { fromIo, safeRecover } from './save.js';
import { StreamWorker } from './stream-worker-client.js';
import { pread } from '../sys/index.js';

export interface LoadOptions {
  /** The input is a bare stream without header and trailer. */
  raw?: boolean;
  /** Load even if the header names another kind of device or other migration flags. */
  force?: boolean;
  /** State to move to once the stream is in (default RUNNING). */
  finalState?: StateName;
  onProgress?: ProgressListener;
  /** Run the read/write loop in a worker thread so this thread's event loop stays free (see saveStream). */
  inWorker?: boolean;
}

export interface LoadResult {
  header: StreamHeader | null;
  streamBytes: number;
  /** The checksum the trailer carried and the stream matched, 16 hex digits (null with raw). */
  checksum: string | null;
  elapsedMs: number;
  io: ReadCounters;
}

function bad(message: string, hint?: string): VfioError {
  return new VfioError(message, { kind: 'bad-stream', op: 'load', fdKind: 'stream', hint });
}

/**
 * Read and check the header (and, for a regular file, the trailer's presence and length) without touching
 * the device. Returns the header and how many body bytes a file should hold (null for pipes).
 */
export function readAndCheckHeader(
  source: Endpoint,
  device: Device,
  opts: LoadOptions,
  io: ReadCounters,
): { header: StreamHeader; expectedBody: number | null } {
  const fixed = Buffer.alloc(HEADER_FIXED);
  const got = readFully(source.fd, fixed, HEADER_FIXED, io);
  if (got === 0) throw bad(`${source.name} is empty`);
  const { identityLength } = checkHeaderFixed(fixed.subarray(0, got));
  const identity = Buffer.alloc(identityLength);
  if (readFully(source.fd, identity, identityLength, io) !== identityLength)
    throw bad(`${source.name} is truncated inside its header`);
  const header = decodeHeader(fixed, identity);
  const caps = device.migration();
  if (!opts.force) {
    if (caps && caps.flags !== header.migrationFlags)
      throw bad(
        `${source.name} was saved from a device with migration flags 0x${header.migrationFlags.toString(16)}; ${device.id.spec} has 0x${caps.flags.toString(16)}`,
        'use --force to load it anyway',
      );
    const kind = (s: string) => (s.startsWith('emulated:') ? s.split('+')[0] : null);
    const theirs = kind(header.identity);
    const ours = kind(device.id.identity);
    if (theirs && ours && theirs !== ours)
      throw bad(
        `${source.name} was saved from ${header.identity}; it cannot be loaded into ${device.id.spec}`,
        'use --force to load it anyway',
      );
  }
  let expectedBody: number | null = null;
  if (source.seekable) {
    const headerLength = HEADER_FIXED + identityLength;
    if (source.size < headerLength + TRAILER_SIZE)
      throw bad(`${source.name} is truncated: no trailer after the header`);
    const trailerBuf = Buffer.alloc(TRAILER_SIZE);
    pread(source.fd, trailerBuf, TRAILER_SIZE, source.size - TRAILER_SIZE);
    const trailer = decodeTrailer(trailerBuf);
    expectedBody = source.size - headerLength - TRAILER_SIZE;
    if (!trailer) throw bad(`${source.name} is truncated: it does not end in a trailer`);
    if (trailer.streamBytes !== expectedBody)
      throw bad(
        `${source.name} is truncated or padded: the trailer promises ${trailer.streamBytes} stream bytes, the file holds ${expectedBody}`,
      );
  }
  return { header, expectedBody };
}

/** Load `source` into the device of `session` (which must be able to reach RESUMING). */
export async function loadStream(
  session: MigrationSession,
  source: Endpoint,
  opts: LoadOptions = {},
): Promise<LoadResult> {
  const device = session.device;
  if (!device) throw new VfioError('loading needs a device', { kind: 'usage', op: 'load', fdKind: 'device' });
  const io: ReadCounters = { eintr: 0, eagain: 0, enomsg: 0 };
  source.accept?.();
  const checked = opts.raw ? null : readAndCheckHeader(source, device, opts, io);
  const meter = new ProgressMeter(opts.onProgress);
  // Room for one chunk plus the trailer-sized tail we hold back until we know it is not the trailer.
  const hold = opts.raw ? 0 : TRAILER_SIZE;
  const worker = opts.inWorker ? new StreamWorker((n) => meter.add(n)) : null;
  let body = 0;
  let checksum: bigint | null = null;

  try {
    session.moveTo('RESUMING');
  } catch (e) {
    await worker?.close();
    throw e;
  }
  try {
    meter.begin('resume', checked?.expectedBody ?? null);
    let tail: Buffer;
    try {
      if (worker) {
        await worker.run<'done'>({ type: 'start', checksum: !opts.raw });
        const r = await worker.run<'held-done'>({
          type: 'copy-holding-tail',
          from: source.fd,
          to: session.dataFd,
          hold,
        });
        body = r.body;
        tail = Buffer.from(r.tail);
        checksum = (await worker.run<'digest'>({ type: 'digest' })).checksum;
        for (const k of ['eintr', 'eagain', 'enomsg'] as const) io[k] += worker.io[k];
      } else {
        // Read into the checksum's own buffer (it has room for CHUNK + hold): summed where the bytes land.
        const sum = opts.raw ? null : new StreamChecksum();
        const buf = sum ? sum.buffer : Buffer.allocUnsafe(CHUNK);
        const r = copyHoldingTail(source.fd, session.dataFd, buf, hold, sum, (n) => meter.add(n), io);
        body = r.body;
        tail = r.tail;
        checksum = sum ? sum.digest() : null;
      }
    } catch (e) {
      throw e instanceof FdIoError ? fromIo(e, e.call === 'read' ? 'source' : 'device', session.state) : e;
    }
    meter.end();
    if (!opts.raw) {
      const trailer = tail.length === TRAILER_SIZE ? decodeTrailer(tail) : null;
      if (!trailer) throw bad(`${source.name} is truncated: the stream ends without a trailer`);
      if (trailer.streamBytes !== body)
        throw bad(`${source.name} is truncated: the trailer promises ${trailer.streamBytes} bytes, ${body} arrived`);
      if (trailer.checksum !== checksum)
        throw bad(
          `${source.name} is damaged: checksum mismatch (trailer ${checksumHex(trailer.checksum)}, stream ${checksumHex(checksum!)})`,
        );
    }
    session.moveTo(opts.finalState ?? 'RUNNING');
    return {
      header: checked?.header ?? null,
      streamBytes: body,
      checksum: checksum === null ? null : checksumHex(checksum),
      elapsedMs: meter.elapsedMs(),
      io,
    };
  } catch (e) {
    const recovered = e instanceof VfioError && e.rule === 'mig.state.error_reset';
    if (!recovered) safeRecover(session, `load failed: ${(e as Error).message}`);
    throw e;
  } finally {
    session.closeDataFd();
    await worker?.close();
  }
}
