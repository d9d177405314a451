/**
 * Load: write a saved stream into a device in RESUMING, then move it on (RUNNING by default), by the commit
 * protocol of PROTOCOL.md. The header is checked before the device is touched; from a regular file the whole
 * body's checksum is verified before the device is touched too (a pre-pass with positioned reads); from a pipe
 * or socket the checksum and trailer are checked before the device leaves RESUMING. On any failure once the
 * device entered RESUMING it is reset (VFIO_DEVICE_RESET), so what it received is discarded, never loaded.
 */
import type { StateName } from '../../generated/constants.js';
import { isVfioError, VfioError } from '../errors.js';
import type { DeviceOutcome } from '../migration/outcome.js';
import { REST_STATES, type MigrationSession } from '../migration/session.js';
import { Errno, errnoName } from '../sys/index.js';
import { peerOf, type Endpoint } from './endpoints.js';
import { CHUNK } from './chunk.js';
import { copyHoldingTailAsync } from './copy-loops.js';
import { FdIoError, type ReadCounters } from './fd-io.js';
import { StreamChecksum } from './checksum.js';
import { checksumHex, TRAILER_SIZE, type StreamHeader } from './format.js';
import { badLoad, checkTrailer, readAndCheckHeader, refuseHeaderInRawFile } from './header-io.js';
import { abortReason, cancelFlagOf, type TransferLimits } from './limits.js';
import { checksumFileRange, prePassThreads } from './prepass.js';
import { ProgressMeter, type ProgressListener } from './progress.js';
import { failSide, fromIo } from './save.js';
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
  /**
   * This load is the destination of a migration whose source resumes if the load fails: a device that fails
   * after it loaded the stream is reset and then stopped, so it does not run the source's workload beside it
   * (a reset need not clear a device's state; mtty's keeps its registers). PROTOCOL.md.
   */
  migrationDestination?: boolean;
}

export interface LoadResult {
  /** The state the device was in when the load started. */
  startState: StateName;
  /**
   * When the checksum was verified: `before-device` (a regular file, checked whole before the device was
   * touched, and again while streaming), `before-commit` (a pipe or socket: before the device left RESUMING),
   * or `none` (raw).
   */
  verified: 'before-device' | 'before-commit' | 'none';
  header: StreamHeader | null;
  streamBytes: number;
  /** The checksum the trailer carried and the stream matched, 16 hex digits (null with raw). */
  checksum: string | null;
  elapsedMs: number;
  io: ReadCounters;
}

/** Where a load may start: a device at rest. Anything else is refused before any SET. */
export const LOAD_START_STATES: readonly StateName[] = REST_STATES;

/**
 * errnos with which a resuming device refuses the bytes it is given (mtty: EFAULT for a bad header, ENOMEM past
 * its size, EINVAL when leaving RESUMING without the whole state; mlx5 and hisi_acc: EFAULT, EOPNOTSUPP…): the
 * stream is not one this device takes, which is a bad stream (exit 6), not a failing device.
 */
const REFUSALS = new Set<number>([
  Errno.EFAULT,
  Errno.EINVAL,
  Errno.ENOMEM,
  Errno.EOPNOTSUPP,
  Errno.E2BIG,
  Errno.EMSGSIZE,
  Errno.EOVERFLOW,
  Errno.ERANGE,
  Errno.EPROTO,
  Errno.EBADMSG,
]);

function refusedByDevice(device: string, how: string, errno: number, state: string, hint?: string): VfioError {
  return new VfioError(`${device} refused the stream (${how} in ${state}: ${errnoName(errno)})`, {
    kind: 'bad-stream',
    op: how,
    fdKind: 'migration_data',
    state,
    errno,
    ...(hint ? { hint } : {}),
  });
}

export function checkLoadStart(session: MigrationSession): void {
  const state = session.state;
  if (LOAD_START_STATES.includes(state)) return;
  throw new VfioError(
    `${session.deviceName} is in ${state}; a load starts from RUNNING, RUNNING_P2P or STOP (a device at rest)`,
    {
      kind: 'refused',
      op: 'load',
      fdKind: 'device',
      state,
      hint:
        state === 'RESUMING'
          ? 'it holds a half-loaded state: reset it (VFIO_DEVICE_RESET) first'
          : 'another migration left it there: reset it (VFIO_DEVICE_RESET) or finish that migration first',
    },
  ).withOutcome([session.outcome()]);
}

/**
 * The whole body of a regular file, checksummed before the device is touched (positioned reads: the file
 * position stays after the header for the streaming pass, which checks the checksum again). A large body is
 * summed by this thread and a helper thread together (prepass.ts).
 */
async function verifyFileBody(
  source: Endpoint,
  headerLength: number,
  body: number,
  expected: bigint,
  signal: AbortSignal | undefined,
): Promise<void> {
  let got: { bytes: number; checksum: bigint };
  try {
    got = await checksumFileRange(source.fd, headerLength, body, {
      threads: prePassThreads(body),
      cancel: cancelFlagOf(signal),
    });
  } catch (e) {
    throw e instanceof FdIoError ? fromIo(e, 'source', 'RUNNING', { name: source.name, signal }) : e;
  }
  if (got.bytes !== body)
    throw badLoad(`${source.name} changed while being read: ${got.bytes} of ${body} body bytes were there`);
  if (got.checksum !== expected)
    throw badLoad(
      `${source.name} is damaged: checksum mismatch (trailer ${checksumHex(expected)}, body ${checksumHex(got.checksum)})`,
    );
}

/** Load `source` into the device of `session` (at rest: RUNNING, RUNNING_P2P or STOP). */
export async function loadStream(
  session: MigrationSession,
  source: Endpoint,
  opts: LoadOptions = {},
): Promise<LoadResult> {
  const device = session.device;
  if (!device) throw new VfioError('loading needs a device', { kind: 'usage', op: 'load', fdKind: 'device' });
  const io: ReadCounters = { eintr: 0, eagain: 0, enomsg: 0 };
  session.assumeRole('destination');
  let peer = peerOf(source, opts);
  const sourceError = (e: FdIoError) => {
    // A bare stream the device refuses may be a whole file given with --raw (a pipe cannot be looked at first).
    if (e.call === 'write' && REFUSALS.has(e.errno))
      return refusedByDevice(
        session.deviceName,
        'write data fd',
        e.errno,
        session.state,
        opts.raw ? `if ${source.name} was saved without --raw, load it without --raw` : undefined,
      );
    return fromIo(e, e.call === 'read' ? 'source' : 'device', session.state, {
      name: source.name,
      peer,
      signal: opts.signal,
    });
  };
  let checked: Awaited<ReturnType<typeof readAndCheckHeader>> | null = null;
  try {
    checkLoadStart(session);
    await source.accept?.();
    peer = peerOf(source, opts);
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
    const err = e instanceof FdIoError ? sourceError(e) : e;
    throw isVfioError(err) ? err.withOutcome([session.outcome()]) : err;
  }
  const startState = session.state;
  const meter = new ProgressMeter(opts.onProgress);
  // Room for one chunk plus the trailer-sized tail we hold back until we know it is not the trailer.
  const hold = opts.raw ? 0 : TRAILER_SIZE;
  const worker = opts.inWorker ? new StreamWorker((n) => meter.add(n)) : null;
  let body = 0;
  let checksum: bigint | null = null;
  const verified = checked?.trailer ? 'before-device' : checked ? 'before-commit' : 'none';

  try {
    if (checked?.trailer && checked.expectedBody !== null)
      await verifyFileBody(source, checked.headerLength, checked.expectedBody, checked.trailer.checksum, opts.signal);
    session.moveTo('RESUMING');
  } catch (e) {
    await worker?.close();
    throw isVfioError(e) && e.outcome === null ? e.withOutcome([session.outcome()]) : e;
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
    if (checked)
      checkTrailer(
        source.name,
        tail,
        body,
        checksum!,
        checked.header,
        verified === 'before-device' ? '; the file changed after it was verified' : '',
      );
    // The commit: leaving RESUMING loads what arrived. Only a verified stream gets here.
    try {
      session.moveTo(opts.finalState ?? 'RUNNING');
    } catch (e) {
      if (isVfioError(e, 'kernel') && e.state === 'RESUMING' && REFUSALS.has(e.errno))
        throw refusedByDevice(session.deviceName, e.op, e.errno, 'RESUMING').withOutcome(e.outcome ?? []);
      throw e;
    }
    return {
      startState,
      verified,
      header: checked?.header ?? null,
      streamBytes: body,
      checksum: checksum === null ? null : checksumHex(checksum),
      elapsedMs: meter.elapsedMs(),
      io,
    };
  } catch (e) {
    const err = failSide(session, e, 'load');
    throw opts.migrationDestination ? err.withOutcome([parkIfCommitted(session)]) : err;
  } finally {
    session.closeDataFd();
    await worker?.close();
  }
}

/**
 * A migration's destination that failed after it loaded the stream (it left RESUMING) was reset like any
 * other; but a reset need not clear a device's own state (mtty's keeps its registers), so it could now run
 * the source's workload beside the resumed source. It is stopped (RUNNING -> STOP carries no data), so only
 * the source runs. Returns its outcome.
 */
export function parkIfCommitted(dst: MigrationSession): DeviceOutcome {
  if (!dst.committed) return dst.outcome();
  let parked = false;
  try {
    if (dst.state !== 'STOP') dst.moveTo('STOP');
    parked = true;
  } catch {
    /* outcome() below reports where it is */
  }
  return {
    ...dst.outcome(),
    action: 'reset',
    detail: parked
      ? 'it had loaded the stream; stopped so that only the source runs'
      : 'it had loaded the stream and could not be stopped',
  };
}
