/**
 * Load: write a saved stream into a device in RESUMING, then move it on (RUNNING by default). The stream's
 * header is checked before the device is touched; the checksum and trailer are checked before the device leaves
 * RESUMING, so a damaged stream never gets to run.
 */
import type { StateName } from '../../generated/constants.js';
import { VfioError } from '../errors.js';
import type { MigrationSession } from '../migration/session.js';
import { Errno } from '../sys/index.js';
import { peerOf, type Endpoint } from './endpoints.js';
import { CHUNK } from './chunk.js';
import { copyHoldingTailAsync } from './copy-loops.js';
import { FdIoError, type ReadCounters } from './fd-io.js';
import { StreamChecksum } from './checksum.js';
import { checksumHex, TRAILER_SIZE, type StreamHeader } from './format.js';
import { checkTrailer, readAndCheckHeader, refuseHeaderInRawFile } from './header-io.js';
import { abortReason, cancelFlagOf, type TransferLimits } from './limits.js';
import { ProgressMeter, type ProgressListener } from './progress.js';
import { fromIo, safeRecover } from './save.js';
import { StreamWorker } from './stream-worker-client.js';

export { readAndCheckHeader };

export interface LoadOptions extends TransferLimits {
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

/** Load `source` into the device of `session` (which must be able to reach RESUMING). */
export async function loadStream(
  session: MigrationSession,
  source: Endpoint,
  opts: LoadOptions = {},
): Promise<LoadResult> {
  const device = session.device;
  if (!device) throw new VfioError('loading needs a device', { kind: 'usage', op: 'load', fdKind: 'device' });
  const io: ReadCounters = { eintr: 0, eagain: 0, enomsg: 0 };
  await source.accept?.();
  const peer = peerOf(source, opts);
  const sourceError = (e: FdIoError) => {
    const err = fromIo(e, e.call === 'read' ? 'source' : 'device', session.state, {
      name: source.name,
      peer,
      signal: opts.signal,
    });
    // A bare stream the device refuses may be a whole file given with --raw (a pipe cannot be looked at first).
    if (opts.raw && err.kind === 'bad-stream')
      return new VfioError(`${err.message} — if ${source.name} was saved without --raw, load it without --raw`, {
        kind: err.kind,
        op: err.op,
        fdKind: err.fdKind,
        state: err.state,
        errno: err.errno,
      });
    return err;
  };
  let checked: Awaited<ReturnType<typeof readAndCheckHeader>> | null = null;
  try {
    if (opts.raw) refuseHeaderInRawFile(source);
    else checked = await readAndCheckHeader(source, peer, device, opts, io);
    if (opts.signal?.aborted)
      throw new VfioError(`stopped by ${abortReason(opts.signal)} before the device was touched`, {
        kind: 'cancelled',
        op: 'load',
        fdKind: 'stream',
        state: session.state,
        errno: Errno.ECANCELED,
      });
  } catch (e) {
    throw e instanceof FdIoError ? sourceError(e) : e;
  }
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
        await worker.run<'done'>({ type: 'start', checksum: !opts.raw, cancel: cancelFlagOf(opts.signal) });
        const r = await worker.run<'held-done'>({
          type: 'copy-holding-tail',
          from: peer,
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
        const r = await copyHoldingTailAsync(peer, session.dataFd, buf, hold, sum, (n) => meter.add(n), io);
        body = r.body;
        tail = r.tail;
        checksum = sum ? sum.digest() : null;
      }
    } catch (e) {
      throw e instanceof FdIoError ? sourceError(e) : e;
    }
    meter.end();
    if (checked) checkTrailer(source.name, tail, body, checksum!, checked.header);
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
