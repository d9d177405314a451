/** Save to and load from an endpoint (file, pipe, stdio, fd, socket), adding or checking the header and trailer. */
import type { Device } from '../device/device.js';
import { VfioError } from '../errors.js';
import type { MigrationSession } from '../migration/session.js';
import { Errno } from '../sys/index.js';
import { factsOf } from './device-facts.js';
import { peerOf, type Endpoint } from './endpoints.js';
import { FdIoError, peerWrite, peerWriteAllAsync, WOULD_BLOCK, type PeerIo, type ReadCounters } from './fd-io.js';
import { StreamChecksum } from './checksum.js';
import { CHUNK } from './chunk.js';
import { checksumHex, encodeHeader, encodeTrailer, TRAILER_SIZE, UAPI_VERSION, type HeaderFields } from './format.js';
import {
  checkSaveStart,
  failSide,
  fromIo,
  saveStream,
  type ChunkSink,
  type SaveResult,
  type SaveStreamOptions,
} from './save.js';

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
 * A sink writing to a peer fd, keeping the running checksum (none for raw output, which has no trailer). It
 * offers the checksum's buffer to read into, so the bytes are summed where they land. When the peer is full
 * (a pipe or socket whose reader is slower), `write` keeps the rest and `blocked` says so; `drain` waits for
 * the peer (bounded by its idle time) without blocking the event loop.
 */
export class FdSink implements ChunkSink {
  bytes = 0;
  readonly io: ReadCounters = { eintr: 0, eagain: 0, enomsg: 0 };
  readonly checksum: StreamChecksum | null;
  readonly peer: PeerIo;
  private pending: Buffer | null = null;
  private pendingLength = 0;
  constructor(
    fd: number | PeerIo,
    withChecksum: boolean,
    readonly name?: string,
  ) {
    this.peer = typeof fd === 'number' ? { fd, mode: 'blocking', idleMs: Infinity, cancel: null } : fd;
    this.checksum = withChecksum ? new StreamChecksum() : null;
  }
  get fd(): number {
    return this.peer.fd;
  }
  /** Set when a worker did the copying (inWorker): its checksum of what it wrote. */
  private workerChecksum: bigint | null = null;
  get buffer(): Buffer | undefined {
    return this.checksum?.buffer;
  }
  get wantsChecksum(): boolean {
    return this.checksum !== null;
  }
  get blocked(): boolean {
    return this.pendingLength > 0;
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
    if (this.pendingLength) throw new Error('FdSink.write before drain()');
    this.checksum?.update(length, buf);
    this.bytes += length;
    let done = 0;
    while (done < length) {
      const n = peerWrite(this.peer, buf, done, length - done);
      if (n === WOULD_BLOCK) {
        this.io.eagain++;
        this.pending ??= Buffer.allocUnsafe(Math.max(CHUNK, length));
        if (this.pending.length < length - done) this.pending = Buffer.allocUnsafe(length - done);
        buf.copy(this.pending, 0, done, length);
        this.pendingLength = length - done;
        return;
      }
      done += n;
    }
  }
  async drain(): Promise<void> {
    if (!this.pendingLength) return;
    await peerWriteAllAsync(this.peer, this.pending!, this.pendingLength, this.io);
    this.pendingLength = 0;
  }
}

/** The identity and flags a saved file records about its source. */
export function headerFor(device: Device): HeaderFields {
  const facts = factsOf(device);
  device.requireMigration();
  return {
    deviceFlags: facts.deviceFlags,
    migrationFlags: facts.migrationFlags,
    driver: facts.driver,
    uapiVersion: UAPI_VERSION,
    createdMs: Date.now(),
    identity: device.id.identity,
  };
}

/**
 * Save the session's device into `out`: header, stream, trailer. The trailer is written before the device
 * leaves STOP_COPY and a file is committed (renamed into place) only once everything is in it; until then a
 * failure or cancellation recovers the device and leaves whatever was at the path.
 */
export async function saveToEndpoint(
  session: MigrationSession,
  out: Endpoint,
  opts: SaveToOptions = {},
): Promise<SaveToResult> {
  checkSaveStart(session);
  const sinkError = (e: unknown) =>
    e instanceof FdIoError ? fromIo(e, 'sink', session.state, { name: out.name, peer, signal: opts.signal }) : e;
  // Header and commit failures are the output's, and the source goes back where it started (PROTOCOL.md).
  const failed = (e: unknown) => failSide(session, sinkError(e), 'save');
  try {
    await out.accept?.();
  } catch (e) {
    throw failed(e);
  }
  const peer = peerOf(out, opts);
  const sink = new FdSink(peer, !opts.raw, out.name);
  let fileBytes = 0;
  let headerChecksum = 0n;
  if (!opts.raw) {
    const header = encodeHeader(headerFor(session.device!));
    headerChecksum = header.readBigUInt64LE(40);
    try {
      await peerWriteAllAsync(peer, header, header.length, sink.io);
    } catch (e) {
      throw failed(e);
    }
    fileBytes += header.length;
  }
  // The trailer goes out before the device leaves STOP_COPY (a failure there recovers it like any other);
  // the file is committed once the device is where it was asked to be.
  const result = await saveStream(session, sink, {
    ...opts,
    afterStopCopy: async () => {
      await opts.afterStopCopy?.();
      try {
        await sink.drain();
        if (!opts.raw) {
          const trailer = encodeTrailer(sink.bytes, sink.digest(), headerChecksum);
          await peerWriteAllAsync(peer, trailer, trailer.length, sink.io);
        }
      } catch (e) {
        throw sinkError(e);
      }
    },
  });
  fileBytes += sink.bytes + (opts.raw ? 0 : TRAILER_SIZE);
  try {
    if (opts.signal?.aborted) throw new FdIoError('write', Errno.ECANCELED);
    out.commit?.();
  } catch (e) {
    // The device has left STOP_COPY but the output is not there: the save did not happen.
    throw failed(e);
  }
  return { ...result, checksum: sink.checksum ? checksumHex(sink.digest()) : null, fileBytes };
}
