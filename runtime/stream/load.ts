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
import { FdIoError, readFully, readSome, READ_NOTHING_NOW, writeAll, type ReadCounters } from './fd-io.js';
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
import { CHUNK, fromIo, safeRecover } from './save.js';
import { pread } from '../sys/index.js';

export interface LoadOptions {
  /** The input is a bare stream without header and trailer. */
  raw?: boolean;
  /** Load even if the header names another kind of device or other migration flags. */
  force?: boolean;
  /** State to move to once the stream is in (default RUNNING). */
  finalState?: StateName;
  onProgress?: ProgressListener;
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
  const checked = opts.raw ? null : readAndCheckHeader(source, device, opts, io);
  const meter = new ProgressMeter(opts.onProgress);
  // Room for one chunk plus the trailer-sized tail we hold back until we know it is not the trailer.
  const hold = opts.raw ? 0 : TRAILER_SIZE;
  // Read into the checksum's own buffer (it has room for CHUNK + hold): summed where the bytes land.
  const checksum = opts.raw ? null : new StreamChecksum();
  const buf = checksum ? checksum.buffer : Buffer.allocUnsafe(CHUNK);
  let held = 0;
  let body = 0;

  session.moveTo('RESUMING');
  try {
    meter.begin('resume', checked?.expectedBody ?? null);
    for (;;) {
      let n: number;
      try {
        n = readSome(source.fd, buf, held, CHUNK, io);
      } catch (e) {
        throw e instanceof FdIoError ? fromIo(e, 'source', session.state) : e;
      }
      if (n === READ_NOTHING_NOW) continue;
      if (n === 0) break;
      const have = held + n;
      const out = have - hold;
      if (out > 0) {
        checksum?.update(out);
        try {
          writeAll(session.dataFd, buf, out, io);
        } catch (e) {
          throw e instanceof FdIoError ? fromIo(e, 'device', session.state) : e;
        }
        body += out;
        meter.add(out);
        if (hold) buf.copy(buf, 0, out, have);
        held = hold;
      } else held = have;
    }
    meter.end();
    if (!opts.raw) {
      const trailer = held === TRAILER_SIZE ? decodeTrailer(buf.subarray(0, TRAILER_SIZE)) : null;
      if (!trailer) throw bad(`${source.name} is truncated: the stream ends without a trailer`);
      if (trailer.streamBytes !== body)
        throw bad(`${source.name} is truncated: the trailer promises ${trailer.streamBytes} bytes, ${body} arrived`);
      const sum = checksum!.digest();
      if (trailer.checksum !== sum)
        throw bad(
          `${source.name} is damaged: checksum mismatch (trailer ${checksumHex(trailer.checksum)}, stream ${checksumHex(sum)})`,
        );
    }
    session.moveTo(opts.finalState ?? 'RUNNING');
    return {
      header: checked?.header ?? null,
      streamBytes: body,
      checksum: checksum ? checksumHex(checksum.digest()) : null,
      elapsedMs: meter.elapsedMs(),
      io,
    };
  } catch (e) {
    const recovered = e instanceof VfioError && e.rule === 'mig.state.error_reset';
    if (!recovered) safeRecover(session, `load failed: ${(e as Error).message}`);
    throw e;
  } finally {
    session.closeDataFd();
  }
}
