/**
 * Load's checks of a saved stream's framing (format.ts), apart from the copy itself: the header before the
 * device is touched (its checksum, its text, whether this device can take the stream; for a regular file
 * also the trailer's presence and length), and the trailer after the body.
 */
import type { Device } from '../device/device.js';
import { VfioError } from '../errors.js';
import { pread } from '../sys/index.js';
import { factsOf } from './device-facts.js';
import type { Endpoint } from './endpoints.js';
import { peerReadFullyAsync, type PeerIo, type ReadCounters } from './fd-io.js';
import {
  checkHeaderFixed,
  checksumHex,
  decodeHeader,
  decodeTrailer,
  HEADER_FIXED,
  incompatibility,
  MAGIC,
  TRAILER_SIZE,
  type StreamHeader,
  type Trailer,
} from './format.js';

/** A stream load refuses (kind bad-stream, exit 6). */
export function badLoad(message: string, hint?: string): VfioError {
  return new VfioError(message, { kind: 'bad-stream', op: 'load', fdKind: 'stream', hint });
}

/**
 * Read and check the header (and, for a regular file, the trailer's presence, length and header checksum)
 * without touching the device. Returns the header and how many body bytes a file should hold (null for pipes).
 */
export async function readAndCheckHeader(
  source: Endpoint,
  peer: PeerIo,
  device: Device,
  opts: { force?: boolean },
  io: ReadCounters,
): Promise<{ header: StreamHeader; headerLength: number; expectedBody: number | null; trailer: Trailer | null }> {
  const fixed = Buffer.alloc(HEADER_FIXED);
  const got = await peerReadFullyAsync(peer, fixed, HEADER_FIXED, io);
  if (got === 0) throw badLoad(`${source.name} is empty`);
  const { headerLength } = checkHeaderFixed(fixed.subarray(0, got), source.name);
  const rest = Buffer.alloc(headerLength - HEADER_FIXED);
  if ((await peerReadFullyAsync(peer, rest, rest.length, io)) !== rest.length)
    throw badLoad(`${source.name} is truncated inside its header`);
  const header = decodeHeader(fixed, rest, source.name);
  if (!opts.force) {
    const why = incompatibility(
      {
        name: `${source.name} (saved from ${header.identity || 'an unnamed device'})`,
        driver: header.driver,
        migrationFlags: header.migrationFlags,
        deviceFlags: header.deviceFlags,
      },
      factsOf(device),
    );
    if (why) throw badLoad(why, 'use --force to load it anyway');
  }
  let expectedBody: number | null = null;
  let trailer: Trailer | null = null;
  if (source.seekable) {
    if (source.size < headerLength + TRAILER_SIZE)
      throw badLoad(`${source.name} is truncated: no trailer after the header`);
    const trailerBuf = Buffer.alloc(TRAILER_SIZE);
    pread(source.fd, trailerBuf, TRAILER_SIZE, source.size - TRAILER_SIZE);
    trailer = decodeTrailer(trailerBuf, source.name);
    expectedBody = source.size - headerLength - TRAILER_SIZE;
    if (!trailer) throw badLoad(`${source.name} is truncated: it does not end in a trailer`);
    if (trailer.streamBytes !== expectedBody)
      throw badLoad(
        `${source.name} is truncated or padded: the trailer promises ${trailer.streamBytes} stream bytes, the file holds ${expectedBody}`,
      );
    if (trailer.headerChecksum !== header.headerChecksum)
      throw badLoad(`${source.name} is damaged: its trailer belongs to another header`);
  }
  return { header, headerLength, expectedBody, trailer };
}

/** After the body: the held-back tail must be this header's trailer, for exactly these bytes and checksum. */
export function checkTrailer(
  name: string,
  tail: Buffer,
  body: number,
  checksum: bigint,
  header: StreamHeader,
  mismatchNote = '',
): void {
  const trailer = tail.length === TRAILER_SIZE ? decodeTrailer(tail, name) : null;
  if (!trailer) throw badLoad(`${name} is truncated: the stream ends without a trailer`);
  if (trailer.streamBytes !== body)
    throw badLoad(`${name} is truncated: the trailer promises ${trailer.streamBytes} bytes, ${body} arrived`);
  if (trailer.headerChecksum !== header.headerChecksum)
    throw badLoad(`${name} is damaged: its trailer belongs to another header`);
  if (trailer.checksum !== checksum)
    throw badLoad(
      `${name} is damaged: checksum mismatch (trailer ${checksumHex(trailer.checksum)}, stream ${checksumHex(checksum)})${mismatchNote}`,
    );
}

/** `--raw` of a regular file that starts with a vfio-uapi header: say so before the device is touched. */
export function refuseHeaderInRawFile(source: Endpoint): void {
  if (!source.seekable || source.size < MAGIC.length) return;
  const start = Buffer.alloc(MAGIC.length);
  if (pread(source.fd, start, MAGIC.length, 0) === MAGIC.length && start.toString('latin1') === MAGIC)
    throw badLoad(
      `${source.name} is a vfio-uapi state file (it has a header and a trailer), not a bare stream`,
      'load it without --raw',
    );
}
