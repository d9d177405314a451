/**
 * Migrate one device's state into another in this process: destination to RESUMING, source pre-copy and
 * STOP_COPY straight into the destination's data fd, destination to RUNNING. On emulated devices the
 * destination's state digest is compared with the source's.
 */
import type { StateName } from '../generated/constants.js';
import type { Device } from './device/device.js';
import { VfioError } from './errors.js';
import { MigrationSession, type SessionOptions } from './migration/session.js';
import type { SessionReport } from './migration/report.js';
import { factsOf } from './stream/device-facts.js';
import { writeAll, type ReadCounters } from './stream/fd-io.js';
import { incompatibility } from './stream/format.js';
import { saveStream, safeRecover, type SaveResult, type SaveStreamOptions } from './stream/save.js';

export interface MigrateOptions extends Omit<SaveStreamOptions, 'afterStopCopy'> {
  session?: SessionOptions;
  /** Where the source ends (default STOP, as after a real migration). */
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

export interface MigrateResult extends SaveResult {
  verification: Verification;
  source: SessionReport;
  destination: SessionReport;
}

/** A sink that writes into the destination's resuming data fd. */
class DataFdSink {
  readonly io: ReadCounters = { eintr: 0, eagain: 0, enomsg: 0 };
  /** Write failures are the destination device's (e.g. rejecting the stream), not a file's. */
  readonly resumingDevice = true;
  constructor(private readonly dest: MigrationSession) {}
  get fd(): number {
    return this.dest.dataFd;
  }
  write(buf: Buffer, length: number): void {
    writeAll(this.dest.dataFd, buf, length, this.io);
  }
}

export async function migrate(source: Device, destination: Device, opts: MigrateOptions = {}): Promise<MigrateResult> {
  assertCanTake(source, destination);
  const src = MigrationSession.open(source, opts.session);
  const dst = MigrationSession.open(destination, opts.session);
  const before = await destination.snapshot();
  const srcBefore = await source.snapshot();
  let sourceDigest: string | null = null;
  let result: SaveResult;
  try {
    dst.moveTo('RESUMING');
    result = await saveStream(src, new DataFdSink(dst), {
      ...opts,
      finalState: opts.sourceFinalState ?? 'STOP',
      afterStopCopy: async () => {
        sourceDigest = (await source.snapshot())?.digest ?? null;
      },
    });
    dst.moveTo(opts.destinationFinalState ?? 'RUNNING');
  } catch (e) {
    const recovered = e instanceof VfioError && e.rule === 'mig.state.error_reset';
    if (dst.state === 'RESUMING' || !recovered) safeRecover(dst, `migration failed: ${(e as Error).message}`);
    throw e;
  } finally {
    src.close();
    dst.close();
  }
  const after = await destination.snapshot();
  const verification: Verification = {
    checked: sourceDigest !== null && after !== null,
    equal: sourceDigest !== null && after ? after.digest === sourceDigest : null,
    sourceDigest,
    destinationDigest: after?.digest ?? null,
    differedBefore: before && srcBefore ? before.digest !== srcBefore.digest : null,
  };
  if (verification.checked && !verification.equal)
    throw new VfioError(
      `verification failed: the destination's state digest ${verification.destinationDigest} differs from the source's ${sourceDigest}`,
      {
        kind: 'verification',
        op: 'verify',
        fdKind: 'device',
      },
    );
  return { ...result, verification, source: src.report, destination: dst.report };
}

/** Refuse, before either device is touched, a destination that cannot take the source's stream (format.ts). */
function assertCanTake(source: Device, destination: Device): void {
  source.requireMigration();
  destination.requireMigration();
  const why = incompatibility(factsOf(source), factsOf(destination));
  if (why) throw new VfioError(why, { kind: 'bad-stream', op: 'migrate', fdKind: 'device' });
}
