/** Save to and load from an endpoint (file, pipe, stdio, fd), adding or checking the header and trailer. */
import type { Device } from '../device/device.js';
import type { MigrationSession } from '../migration/session.js';
import type { Endpoint } from './endpoints.js';
import { writeAll, type ReadCounters } from './fd-io.js';
import { StreamChecksum } from './checksum.js';
import { checksumHex, encodeHeader, encodeTrailer, UAPI_VERSION } from './format.js';
import {
  checkSaveStart,
  failSide,
  fromIo,
  saveStream,
  type ChunkSink,
  type SaveResult,
  type SaveStreamOptions,
} from './save.js';
import { FdIoError } from './fd-io.js';

export interface SaveToOptions extends SaveStreamOptions {
  /** Write the bare stream, without header and trailer. */
  raw?: boolean;
}

export interface SaveToResult extends SaveResult {
  /** The trailer's checksum of the stream, 16 hex digits (null with raw). */
  checksum: string | null;
  /** Bytes written to the endpoint, header and trailer included. */
  fileBytes: number;
}

/**
 * A sink writing to an fd, keeping the running checksum (none for raw output, which has no trailer). It
 * offers the checksum's buffer to read into, so the bytes are summed where they land.
 */
export class FdSink implements ChunkSink {
  bytes = 0;
  readonly io: ReadCounters = { eintr: 0, eagain: 0, enomsg: 0 };
  readonly checksum: StreamChecksum | null;
  constructor(
    readonly fd: number,
    withChecksum: boolean,
  ) {
    this.checksum = withChecksum ? new StreamChecksum() : null;
  }
  /** Set when a worker did the copying (inWorker): its checksum of what it wrote. */
  private workerChecksum: bigint | null = null;
  get buffer(): Buffer | undefined {
    return this.checksum?.buffer;
  }
  get wantsChecksum(): boolean {
    return this.checksum !== null;
  }
  movedInWorker(bytes: number, checksum: bigint | null): void {
    this.bytes += bytes;
    this.workerChecksum = checksum;
  }
  /** The checksum of everything written, by this thread or a worker. */
  digest(): bigint {
    return this.workerChecksum ?? this.checksum!.digest();
  }
  write(buf: Buffer, length: number): void {
    this.checksum?.update(length, buf);
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
  checkSaveStart(session);
  const sink = new FdSink(out.fd, !opts.raw);
  let fileBytes = 0;
  /** Header and trailer writes: a failure is the output's, and the source goes back where it started. */
  const put = (bytes: Buffer) => {
    try {
      writeAll(out.fd, bytes, bytes.length, sink.io);
    } catch (e) {
      throw failSide(session, e instanceof FdIoError ? fromIo(e, 'sink', session.state) : e, 'save');
    }
    fileBytes += bytes.length;
  };
  if (!opts.raw) put(encodeHeader(headerFor(session.device!)));
  const result = await saveStream(session, sink, opts);
  fileBytes += sink.bytes;
  if (!opts.raw) put(encodeTrailer(sink.bytes, sink.digest()));
  return { ...result, checksum: sink.checksum ? checksumHex(sink.digest()) : null, fileBytes };
}
