/** Save to and load from an endpoint (file, pipe, stdio, fd), adding or checking the header and trailer. */
import { crc32 } from 'node:zlib';
import type { Device } from '../device/device.js';
import type { MigrationSession } from '../migration/session.js';
import type { Endpoint } from './endpoints.js';
import { writeAll, type ReadCounters } from './fd-io.js';
import { encodeHeader, encodeTrailer, UAPI_VERSION } from './format.js';
import { saveStream, type ChunkSink, type SaveResult, type SaveStreamOptions } from './save.js';

export interface SaveToOptions extends SaveStreamOptions {
  /** Write the bare stream, without header and trailer. */
  raw?: boolean;
}

export interface SaveToResult extends SaveResult {
  /** CRC-32 of the stream (null with raw). */
  crc: number | null;
  /** Bytes written to the endpoint, header and trailer included. */
  fileBytes: number;
}

/** A sink writing to an fd, keeping a running CRC-32 (skipped for raw output, which has no trailer). */
export class FdSink implements ChunkSink {
  crc = 0;
  bytes = 0;
  readonly io: ReadCounters = { eintr: 0, eagain: 0, enomsg: 0 };
  constructor(
    readonly fd: number,
    private readonly checksum: boolean,
  ) {}
  write(buf: Buffer, length: number): void {
    if (this.checksum) this.crc = crc32(length === buf.length ? buf : buf.subarray(0, length), this.crc);
    writeAll(this.fd, buf, length, this.io);
    this.bytes += length;
  }
}

/** The identity and flags a saved file records about its source. */
export function headerFor(device: Device) {
  let deviceFlags = 0;
  try {
    deviceFlags = device.info().flags;
  } catch {
    /* GET_INFO is informative here; a device that fails it can still migrate */
  }
  return {
    deviceFlags,
    migrationFlags: device.requireMigration().flags,
    uapiVersion: UAPI_VERSION,
    createdMs: Date.now(),
    identity: device.id.identity,
  };
}

export async function saveToEndpoint(
  session: MigrationSession,
  out: Endpoint,
  opts: SaveToOptions = {},
): Promise<SaveToResult> {
  const sink = new FdSink(out.fd, !opts.raw);
  let fileBytes = 0;
  if (!opts.raw) {
    const header = encodeHeader(headerFor(session.device!));
    writeAll(out.fd, header, header.length, sink.io);
    fileBytes += header.length;
  }
  const result = await saveStream(session, sink, opts);
  fileBytes += sink.bytes;
  if (!opts.raw) {
    const trailer = encodeTrailer(sink.bytes, sink.crc);
    writeAll(out.fd, trailer, trailer.length, sink.io);
    fileBytes += trailer.length;
  }
  return { ...result, crc: opts.raw ? null : sink.crc >>> 0, fileBytes };
}
