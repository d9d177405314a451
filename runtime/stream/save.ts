/**
 * Save: read a device's migration stream — pre-copy rounds while it runs, then STOP_COPY until read()
 * returns 0 — into a sink, with one reused 1 MiB buffer and a sync loop. Memory stays constant whatever
 * the state size.
 *
 * Start states as QEMU treats them (hw/vfio/migration.c, vfio_save_setup): RUNNING (and RUNNING_P2P) pre-copy,
 * STOP goes straight to STOP_COPY, anything else is refused before any SET. On any failure the device goes
 * back to the state it started in (PROTOCOL.md).
 */
import type { StateName } from '../../generated/constants.js';
import { isVfioError, VfioError } from '../errors.js';
import { REST_STATES, type MigrationSession, type PrecopyInfo } from '../migration/session.js';
import { Errno, errnoMeaning, errnoName } from '../sys/index.js';
import { CHUNK } from './chunk.js';
import { copySome, SLICE, type CopyResult } from './copy-loops.js';
import { FdIoError, isCancelled, yieldToEventLoop, type PeerIo, type ReadCounters } from './fd-io.js';
import { abortReason, cancelFlagOf, formatMs, type TransferLimits } from './limits.js';
import { PrecopyPolicy, type PrecopyDecision, type PrecopyPolicyOptions } from './policy.js';
import { ProgressMeter, type ProgressListener } from './progress.js';
import { StreamWorker } from './stream-worker-client.js';

export { CHUNK };

/** Where saved bytes go. `write` must take all `length` bytes of `buf` (from 0) or throw. */
export interface ChunkSink {
  write(buf: Buffer, length: number): void;
  /** A buffer (at least CHUNK) the sink would like the data read into, e.g. where its checksum reads. */
  readonly buffer?: Buffer | undefined;
  /** The fd the sink writes to: needed to run the copy in a worker (`inWorker`). */
  readonly fd?: number;
  /** Whether the sink keeps a checksum (the worker then keeps it and reports it through `movedInWorker`). */
  readonly wantsChecksum?: boolean;
  /** A worker wrote `bytes` to `fd` on the sink's behalf; `checksum` is theirs, when wanted. */
  movedInWorker?(bytes: number, checksum: bigint | null): void;
  /** The other side, when the sink writes to a pipe, socket or file (for bounds and messages). */
  readonly peer?: PeerIo;
  /** What the user named it, for messages. */
  readonly name?: string | undefined;
  /** The sink is another device's resuming data fd (migrate): its write failures are that device's. */
  readonly resumingDevice?: boolean;
  /** True while `write` left bytes it could not pass on yet (the peer is full): `drain` waits for it. */
  readonly blocked?: boolean;
  drain?(): Promise<void>;
}

export interface SaveStreamOptions extends TransferLimits {
  /** Pre-copy while the device runs (default: when the device has PRE_COPY and starts RUNNING or RUNNING_P2P). */
  precopy?: boolean;
  policy?: PrecopyPolicyOptions;
  /** State to leave the source in once the stream is read (default STOP; RUNNING resumes it). */
  finalState?: StateName;
  onProgress?: ProgressListener;
  /** Called with each pre-copy decision as it is made. */
  onDecision?: (d: PrecopyDecision) => void;
  /** Called once STOP_COPY has been read to the end, before the final state change (e.g. to snapshot). */
  afterStopCopy?: () => void | Promise<void>;
  /** Reuse a buffer (at least 1 MiB) instead of allocating one. */
  buffer?: Buffer;
  /**
   * Run the read/write loop in a worker thread so this thread's event loop stays free (timers, sockets,
   * progress UI), for ~10–20% less throughput. The sink must have an `fd`. State changes stay here.
   */
  inWorker?: boolean;
}

export interface SaveResult {
  /** The state the device was in when the save started (STOP: no pre-copy). */
  startState: StateName;
  totalBytes: number;
  precopyBytes: number;
  /** Bytes read after the device stopped: the downtime phase. */
  stopCopyBytes: number;
  rounds: number;
  decisions: PrecopyDecision[];
  /** MIG_DATA_SIZE just before STOP_COPY, if the device answers it. */
  stopCopyEstimate: number | null;
  elapsedMs: number;
  stopCopyMs: number;
  io: ReadCounters;
}

/** Consecutive ENOMSG answers in STOP_COPY (a rule violation) tolerated before giving up. */
const MAX_STOP_COPY_ENOMSG = 10000;
/** Consecutive empty polls (EAGAIN after a 1 s poll) of a non-blocking data fd in STOP_COPY before giving up. */
const MAX_STOP_COPY_WOULD_BLOCK = 30;

/** Where a save may start (QEMU's vfio_save_setup): running devices pre-copy, a stopped one does not. */
export const SAVE_START_STATES: readonly StateName[] = REST_STATES;

/** Refuse a start state a save cannot take, before any SET. */
export function checkSaveStart(session: MigrationSession): void {
  const state = session.state;
  if (SAVE_START_STATES.includes(state)) return;
  throw new VfioError(
    `${session.deviceName} is in ${state}; a save starts from RUNNING or RUNNING_P2P (with pre-copy) or STOP (without)`,
    {
      kind: 'refused',
      op: 'save',
      fdKind: 'device',
      state,
      hint:
        state === 'RESUMING'
          ? 'it holds a half-loaded state: finish or reset that load (VFIO_DEVICE_RESET) first'
          : 'another migration left it there: reset it (VFIO_DEVICE_RESET) or finish that migration first',
    },
  ).withOutcome([session.outcome()]);
}

export async function saveStream(
  session: MigrationSession,
  sink: ChunkSink,
  opts: SaveStreamOptions = {},
): Promise<SaveResult> {
  const device = session.device;
  if (!device) throw new VfioError('saving needs a device', { kind: 'usage', op: 'save', fdKind: 'device' });
  const caps = device.requireMigration();
  session.assumeRole('source');
  checkSaveStart(session);
  const startState = session.state;
  const buf = opts.buffer ?? sink.buffer ?? Buffer.allocUnsafe(CHUNK);
  const io: ReadCounters = { eintr: 0, eagain: 0, enomsg: 0 };
  const meter = new ProgressMeter(opts.onProgress);
  const policy = new PrecopyPolicy(opts.policy);
  const decisions: PrecopyDecision[] = [];
  let precopyBytes = 0;
  let rounds = 0;

  const cancel = cancelFlagOf(opts.signal);
  const failed = (e: FdIoError, side: 'device' | 'sink') =>
    side === 'sink' && sink.resumingDevice && e.errno !== Errno.ECANCELED
      ? fromIo(e, 'device', 'RESUMING', { signal: opts.signal, device: 'the destination device' })
      : fromIo(
          e,
          side,
          session.state,
          side === 'sink' ? { name: sink.name, peer: sink.peer, signal: opts.signal } : { signal: opts.signal },
        );
  if (opts.signal?.aborted)
    throw new VfioError(`stopped by ${abortReason(opts.signal)} before the transfer started`, {
      kind: 'cancelled',
      op: 'save',
      fdKind: 'device',
      state: session.state,
      errno: Errno.ECANCELED,
    });

  // The bulk copy: here, with a sync loop, or in a worker. Either way it stops at a limit, the end of the
  // stream, ENOMSG (nothing for now) or an empty non-blocking fd, and failures come back as FdIoErrors. Here,
  // the loop gives the event loop a turn every SLICE bytes (a signal handler may cancel) and waits for a full
  // peer there.
  let worker: StreamWorker | null = null;
  if (opts.inWorker) {
    if (sink.fd === undefined)
      throw new VfioError('saving in a worker needs a sink with an fd', {
        kind: 'usage',
        op: 'save',
        fdKind: 'stream',
      });
    worker = new StreamWorker((n) => meter.add(n));
    await worker.run<'done'>({ type: 'start', checksum: sink.wantsChecksum ?? false, cancel });
  }
  const give = (n: number) => {
    sink.write(buf, n);
    meter.add(n);
  };
  let movedByWorker = 0;
  const pause = () => sink.blocked === true || isCancelled(cancel);
  const copy = async (limit: number): Promise<CopyResult> => {
    try {
      if (worker) {
        const to: PeerIo = sink.peer ?? { fd: sink.fd!, mode: 'blocking', idleMs: Infinity, cancel };
        const r = await worker.run<'done'>({ type: 'copy', from: session.dataFd, to, limit });
        movedByWorker += r.bytes;
        return r;
      }
      let bytes = 0;
      for (;;) {
        const r = copySome(session.dataFd, buf, Math.min(limit - bytes, SLICE), give, io, pause);
        bytes += r.bytes;
        if (sink.blocked) await sink.drain!();
        if (isCancelled(cancel)) throw new FdIoError('read', Errno.ECANCELED);
        if (r.end !== 'limit' || bytes >= limit) return { bytes, end: r.end };
        await yieldToEventLoop();
      }
    } catch (e) {
      if (e instanceof FdIoError) throw failed(e, e.call === 'read' && e.errno !== Errno.ECANCELED ? 'device' : 'sink');
      throw e;
    }
  };

  try {
    // From STOP there is nothing to pre-copy: the device is not running (QEMU goes straight to STOP_COPY).
    const wantPrecopy = (opts.precopy ?? caps.preCopy) && caps.preCopy && startState !== 'STOP';
    if (wantPrecopy) {
      session.moveTo(startState === 'RUNNING_P2P' ? 'PRE_COPY_P2P' : 'PRE_COPY');
      for (;;) {
        rounds++;
        const before = precopyInfoOrNull(session);
        const budget = before ? Number(before.initialBytes + before.dirtyBytes) : Infinity;
        meter.begin('precopy', Number.isFinite(budget) ? budget : null, rounds);
        const got = (await copy(budget)).bytes;
        precopyBytes += got;
        meter.end();
        const decision = policy.decide(rounds, precopyInfoOrNull(session));
        decisions.push(decision);
        opts.onDecision?.(decision);
        if (decision.stop) break;
      }
    }

    const estimate = session.dataSize();
    const stopStart = performance.now();
    session.moveTo('STOP_COPY');
    meter.begin('stopcopy', estimate === null ? null : Number(estimate));
    let stopCopyBytes = 0;
    let enomsgRun = 0;
    let emptyPolls = 0;
    for (;;) {
      const r = await copy(Infinity);
      stopCopyBytes += r.bytes;
      if (r.bytes) enomsgRun = emptyPolls = 0;
      if (r.end === 'eof') break;
      if (r.end === 'would-block') {
        // A non-blocking fd with nothing yet: wait again (readSome polled); it is not the device's ENOMSG.
        if (++emptyPolls > MAX_STOP_COPY_WOULD_BLOCK)
          throw new VfioError(
            `the data fd stayed empty (EAGAIN) for ${MAX_STOP_COPY_WOULD_BLOCK} s in STOP_COPY before its end`,
            { kind: 'kernel', op: 'read data fd', fdKind: 'migration_data', state: 'STOP_COPY', errno: Errno.EAGAIN },
          );
        await yieldToEventLoop(); // a signal may stop the wait
        if (isCancelled(cancel)) throw failed(new FdIoError('read', Errno.ECANCELED), 'device');
        continue;
      }
      // ENOMSG in STOP_COPY: the spec says read() == 0 is the only end.
      session.record({
        rule: 'stream.eof',
        op: 'read',
        state: 'STOP_COPY',
        spec: 'data, or 0 at the end',
        kernel: 'ENOMSG',
      });
      if (++enomsgRun > MAX_STOP_COPY_ENOMSG)
        throw new VfioError('the device keeps answering ENOMSG in STOP_COPY and never ends its stream', {
          kind: 'kernel',
          op: 'read data fd',
          fdKind: 'migration_data',
          state: 'STOP_COPY',
          errno: Errno.ENOMSG,
          rule: 'stream.eof',
        });
    }
    const stopCopyMs = performance.now() - stopStart;
    meter.end();
    if (worker) {
      const { checksum } = await worker.run<'digest'>({ type: 'digest' });
      sink.movedInWorker?.(movedByWorker, checksum);
      for (const k of ['eintr', 'eagain', 'enomsg'] as const) io[k] += worker.io[k];
    }
    await opts.afterStopCopy?.();
    session.moveTo(opts.finalState ?? 'STOP');
    return {
      startState,
      totalBytes: precopyBytes + stopCopyBytes,
      precopyBytes,
      stopCopyBytes,
      rounds,
      decisions,
      stopCopyEstimate: estimate === null ? null : Number(estimate),
      elapsedMs: meter.elapsedMs(),
      stopCopyMs,
      io,
    };
  } catch (e) {
    // A failed SET has already recovered inside the session; anything else (I/O, refusals) recovers here.
    throw failSide(session, e, 'save');
  } finally {
    session.closeDataFd();
    await worker?.close();
  }
}

/**
 * A failure on one side: recover the session unless a failed SET already did, and return the error as a
 * VfioError that names the side and where the device ended (PROTOCOL.md).
 */
export function failSide(session: MigrationSession, e: unknown, what: string): VfioError {
  const err = isVfioError(e)
    ? e
    : new VfioError(`${what} failed: ${(e as Error).message}`, {
        kind: 'kernel',
        op: what,
        fdKind: 'stream',
        state: session.state,
        cause: e,
      });
  const recovered = err.rule === 'mig.state.error_reset' && err.outcome !== null;
  if (!recovered && session.device && !session.device.isClosed) safeRecover(session, `${what} failed: ${err.detail}`);
  return err.withOutcome([session.outcome()]);
}

/** PRECOPY_INFO, or null if the device does not answer it (recorded as a violation for PRE_COPY devices). */
function precopyInfoOrNull(session: MigrationSession): PrecopyInfo | null {
  const r = session.queryPrecopyInfo();
  if (r.ok) return r;
  if (r.reason === 'errno')
    session.record({
      rule: 'precopy.mandatory',
      op: 'VFIO_MIG_GET_PRECOPY_INFO',
      state: session.state,
      spec: `answered in ${session.state}`,
      kernel: errnoName(r.errno),
    });
  return null;
}

/** What a resuming data fd answers when the device refuses the bytes written to it (a damaged or foreign stream). */
const REJECTED_STREAM = new Set<number>([Errno.EFAULT, Errno.EINVAL, Errno.EOPNOTSUPP, Errno.ENOMEM, Errno.EMSGSIZE]);

/**
 * Turn a read/write failure into the error a person reads: the device's data fd (a kernel failure, or the
 * device rejecting the stream it is given: a bad stream), the peer (io, naming it; ETIMEDOUT names the
 * bound), or a cancellation (the signal's reason).
 */
export function fromIo(
  e: FdIoError,
  side: 'device' | 'sink' | 'source',
  state: string,
  about: { name?: string; peer?: PeerIo; signal?: AbortSignal; device?: string } = {},
): VfioError {
  if (e.errno === Errno.ECANCELED)
    return new VfioError(`stopped by ${abortReason(about.signal)} in ${state}`, {
      kind: 'cancelled',
      op: `${e.call} ${side}`,
      fdKind: side === 'device' ? 'migration_data' : 'stream',
      errno: e.errno,
      state,
    });
  if (side === 'device') {
    if (e.call === 'write' && state === 'RESUMING' && REJECTED_STREAM.has(e.errno))
      return new VfioError(
        `${about.device ?? 'the device'} rejected the stream: write data fd failed in RESUMING: ${errnoName(e.errno)} (${errnoMeaning(e.errno)})`,
        { kind: 'bad-stream', op: 'write data fd', fdKind: 'migration_data', errno: e.errno, state },
      );
    return VfioError.fromErrno(`${e.call} data fd`, 'migration_data', e.errno, { state });
  }
  const name = about.name ?? (side === 'sink' ? 'the output' : 'the input');
  const direction = side === 'sink' ? 'write' : 'read';
  let why = `${errnoName(e.errno)} (${errnoMeaning(e.errno)})`;
  if (e.errno === Errno.ETIMEDOUT && about.peer)
    why =
      side === 'sink'
        ? `the reader took no data for ${formatMs(about.peer.idleMs)} (ETIMEDOUT; see --io-timeout)`
        : `the sender sent no data for ${formatMs(about.peer.idleMs)} (ETIMEDOUT; see --io-timeout)`;
  else if (side === 'sink' && (e.errno === Errno.EPIPE || e.errno === Errno.ECONNRESET))
    why = `the reader closed it (${errnoName(e.errno)})`;
  return new VfioError(`cannot ${direction} ${name}: ${why}`, {
    kind: 'io',
    op: `${direction} ${name}`,
    fdKind: 'stream',
    errno: e.errno,
    state,
  });
}

/** Recover without letting a second failure hide the first. */
export function safeRecover(session: MigrationSession, why: string): void {
  try {
    session.recover(why);
  } catch {
    /* the original error is what the caller needs */
  }
}
