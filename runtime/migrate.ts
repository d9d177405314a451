/**
 * Migrate one device's state into another in this process, by the commit protocol of
 * runtime/migration/PROTOCOL.md: destination to RESUMING, source pre-copy and STOP_COPY straight into the
 * destination's data fd, source to STOP, destination to RUNNING. If anything fails, the source is resumed and
 * the destination reset, so exactly one of them runs the workload: the destination only once it confirmed
 * RUNNING. On emulated devices the destination's state digest is compared with the source's.
 */
import type { StateName } from '../generated/constants.js';
import type { Device } from './device/device.js';
import { isVfioError, VfioError } from './errors.js';
import type { DeviceOutcome } from './migration/outcome.js';
import { MigrationSession, type SessionOptions } from './migration/session.js';
import type { SessionReport } from './migration/report.js';
import { factsOf } from './stream/device-facts.js';
import { writeAll, type ReadCounters } from './stream/fd-io.js';
import { incompatibility } from './stream/format.js';
import { checkLoadStart, parkIfCommitted } from './stream/load.js';
import { checkSaveStart, failSide, saveStream, type SaveResult, type SaveStreamOptions } from './stream/save.js';

export interface MigrateOptions extends Omit<SaveStreamOptions, 'afterStopCopy' | 'finalState'> {
  session?: SessionOptions;
  /** Where the source ends once the destination confirmed (default STOP, as after a real migration). */
  sourceFinalState?: StateName;
  /** Where the destination ends (default RUNNING). */
  destinationFinalState?: StateName;
}

export interface Verification {
  /** Whether a check was possible (emulated devices only). */
  checked: boolean;
  equal: boolean | null;
  sourceDigest: string | null;
  destinationDigest: string | null;
  /** The destination's digest before the migration differed from the source's (so equality means something). */
  differedBefore: boolean | null;
}

/**
 * The check of a migrated device pair from the emulated devices' state digests (null: no digest, e.g. a real
 * device): the destination's after the migration against the source's when it stopped, and whether the two
 * differed before it (so equality means something).
 */
export function verificationOf(
  sourceDigest: string | null,
  destinationDigest: string | null,
  sourceBefore: string | null,
  destinationBefore: string | null,
): Verification {
  const checked = sourceDigest !== null && destinationDigest !== null;
  return {
    checked,
    equal: checked ? destinationDigest === sourceDigest : null,
    sourceDigest,
    destinationDigest,
    differedBefore: sourceBefore !== null && destinationBefore !== null ? sourceBefore !== destinationBefore : null,
  };
}

export interface MigrateResult extends SaveResult {
  verification: Verification;
  source: SessionReport;
  destination: SessionReport;
  /** Where both devices ended: the source `completed` (stopped), the destination `completed` (running). */
  outcome: DeviceOutcome[];
}

/** A sink that writes into the destination's resuming data fd; a refused write is the destination's failure. */
class DataFdSink {
  readonly io: ReadCounters = { eintr: 0, eagain: 0, enomsg: 0 };
  /** Write failures are the destination device's (saveStream reports them as such: write data fd). */
  readonly resumingDevice = true;
  constructor(private readonly dest: MigrationSession) {}
  get fd(): number {
    return this.dest.dataFd;
  }
  write(buf: Buffer, length: number): void {
    writeAll(this.dest.dataFd, buf, length, this.io);
  }
}

/**
 * Undo a migration that did not complete: resume the source (back to the state it started in) and reset the
 * destination if it entered RESUMING, then return the error naming the failing side and both outcomes.
 */
function abort(src: MigrationSession, dst: MigrationSession, e: unknown, side: 'source' | 'destination'): VfioError {
  const err = failSide(side === 'source' ? src : dst, e, side === 'source' ? 'save' : 'load');
  err.placeOn(side, side === 'source' ? src.deviceName : dst.deviceName);
  const other = side === 'source' ? dst : src;
  if (other.report.steps.some((s) => s.ok) && !other.report.recoveries.length)
    other.recover(`the ${side} failed: ${err.detail}`);
  return err.withOutcome([src.outcome(), parkIfCommitted(dst)]);
}

export async function migrate(source: Device, destination: Device, opts: MigrateOptions = {}): Promise<MigrateResult> {
  assertCanTake(source, destination);
  const src = MigrationSession.open(source, { ...opts.session, role: 'source' });
  const dst = MigrationSession.open(destination, { ...opts.session, role: 'destination' });
  try {
    // Both start states are checked before either device is touched.
    try {
      checkSaveStart(src);
    } catch (e) {
      throw (e as VfioError).placeOn('source', src.deviceName).withOutcome([src.outcome(), dst.outcome()]);
    }
    try {
      checkLoadStart(dst);
    } catch (e) {
      throw (e as VfioError).placeOn('destination', dst.deviceName).withOutcome([src.outcome(), dst.outcome()]);
    }
    const before = await destination.snapshot();
    const srcBefore = await source.snapshot();
    let sourceDigest: string | null = null;
    let result: SaveResult;
    try {
      dst.moveTo('RESUMING');
    } catch (e) {
      throw abort(src, dst, e, 'destination');
    }
    try {
      // The source ends in STOP here; it is left there only once the destination confirmed RUNNING.
      result = await saveStream(src, new DataFdSink(dst), {
        ...opts,
        finalState: 'STOP',
        afterStopCopy: async () => {
          sourceDigest = (await source.snapshot())?.digest ?? null;
        },
      });
    } catch (e) {
      // A write the destination refused (here, or by the worker) is the destination's failure; the rest the source's.
      const onDestination =
        isVfioError(e) && (e.side?.role === 'destination' || (e.op === 'write data fd' && e.kind !== 'cancelled'));
      throw abort(src, dst, e, onDestination ? 'destination' : 'source');
    }
    try {
      dst.moveTo(opts.destinationFinalState ?? 'RUNNING');
    } catch (e) {
      throw abort(src, dst, e, 'destination');
    }
    const after = await destination.snapshot();
    const verification = verificationOf(
      sourceDigest,
      after?.digest ?? null,
      srcBefore?.digest ?? null,
      before?.digest ?? null,
    );
    if (verification.checked && !verification.equal) {
      // The destination runs a state that is not the source's: it must not stay that way.
      dst.recover('verification failed');
      src.recover('verification failed');
      throw new VfioError(
        `verification failed: the destination's state digest ${verification.destinationDigest} differs from the source's ${sourceDigest}`,
        { kind: 'verification', op: 'verify', fdKind: 'device' },
      ).withOutcome([src.outcome(), parkIfCommitted(dst)]);
    }
    if (opts.sourceFinalState && opts.sourceFinalState !== 'STOP') {
      try {
        src.moveTo(opts.sourceFinalState);
      } catch (e) {
        throw (e as VfioError).placeOn('source', src.deviceName).withOutcome([src.outcome(), dst.outcome('completed')]);
      }
    }
    return {
      ...result,
      verification,
      source: src.report,
      destination: dst.report,
      outcome: [src.outcome('completed'), dst.outcome('completed')],
    };
  } finally {
    src.close();
    dst.close();
  }
}

/** Refuse, before either device is touched, a destination that cannot take the source's stream (format.ts). */
function assertCanTake(source: Device, destination: Device): void {
  source.requireMigration();
  destination.requireMigration();
  const why = incompatibility(factsOf(source), factsOf(destination));
  if (why) throw new VfioError(why, { kind: 'bad-stream', op: 'migrate', fdKind: 'device' });
}
