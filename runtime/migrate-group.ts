/**
 * Migrate several devices together, as a VMM migrates a VM with several assigned devices: the order of
 * QEMU's hw/vfio/migration.c (qemu/qemu 019d9e6c) and system/runstate.c vm_state_notify (prepare callbacks
 * of every entry first, forward when starting, in reverse when stopping; QEMU 8.1 and later), so no device is
 * stopped while another may still reach it peer to peer:
 *
 *  1. destinations → RESUMING, in the given order (vfio_load_setup);
 *  2. running sources → PRE_COPY (or PRE_COPY_P2P from RUNNING_P2P), in order (vfio_save_setup), then
 *     pre-copy rounds, one per device in turn, until every device's policy stops;
 *  3. the stop barrier, in reverse order: every source with P2P → PRE_COPY_P2P / RUNNING_P2P (the prepare
 *     callbacks), and only then every source → STOP_COPY (or STOP without pre-copy), again in reverse
 *     (the state-change callbacks);
 *  4. each source's STOP_COPY data to the end, in order (vfio_save_complete_precopy; QEMU also repeats
 *     SET STOP_COPY there for a device already in STOP_COPY, a SET that changes nothing, which is skipped
 *     here), then each source → STOP, in order (vfio_save_cleanup);
 *  5. the start barrier, in order: every destination with P2P → RUNNING_P2P, and only then every
 *     destination → RUNNING (the final state).
 *
 * The commit protocol holds for the group as for one device (PROTOCOL.md): if anything fails, every
 * destination that entered RESUMING is reset and every source returns to the state it started in, so the
 * sources run unless every destination confirmed RUNNING. One report covers all devices.
 */
import type { StateName } from '../generated/constants.js';
import type { Device } from './device/device.js';
import { isVfioError, VfioError } from './errors.js';
import type { DeviceOutcome } from './migration/outcome.js';
import type { SessionReport } from './migration/report.js';
import { MigrationSession, type SessionOptions } from './migration/session.js';
import { verificationOf, type Verification } from './migrate.js';
import { CHUNK } from './stream/chunk.js';
import { copySome } from './stream/copy-loops.js';
import { FdIoError, writeAll, type ReadCounters } from './stream/fd-io.js';
import { checkLoadStart, parkIfCommitted } from './stream/load.js';
import { PrecopyPolicy, type PrecopyDecision, type PrecopyPolicyOptions } from './stream/policy.js';
import { checkSaveStart, fromIo, safeRecover } from './stream/save.js';
import { errnoName } from './sys/index.js';

export interface GroupMigrateOptions {
  /** Session options for every device (mode `qemu` sends exactly QEMU's SETs). */
  session?: SessionOptions;
  /** Pre-copy running sources that have PRE_COPY (default true). */
  precopy?: boolean;
  policy?: PrecopyPolicyOptions;
  /** The destinations' final state (default RUNNING). */
  destinationFinalState?: StateName;
}

export interface GroupDeviceResult {
  source: string;
  destination: string;
  precopyBytes: number;
  stopCopyBytes: number;
  totalBytes: number;
  rounds: number;
  decisions: PrecopyDecision[];
  verification: Verification;
  sourceReport: SessionReport;
  destinationReport: SessionReport;
}

export interface GroupMigrateResult {
  devices: GroupDeviceResult[];
  /** Every SET the group sent, in order: `source 0 PRE_COPY`, `destination 2 RUNNING`… */
  sets: string[];
  /** Where every device ended (sources first, in order, then destinations). */
  outcome: DeviceOutcome[];
  elapsedMs: number;
}

interface Pair {
  index: number;
  src: MigrationSession;
  dst: MigrationSession;
  source: Device;
  destination: Device;
  policy: PrecopyPolicy;
  decisions: PrecopyDecision[];
  precopyBytes: number;
  stopCopyBytes: number;
  rounds: number;
  precopying: boolean;
  sourceDigest: string | null;
  destinationBefore: string | null;
  sourceBefore: string | null;
}

export async function migrateGroup(
  pairs: readonly (readonly [source: Device, destination: Device])[],
  opts: GroupMigrateOptions = {},
): Promise<GroupMigrateResult> {
  const t0 = performance.now();
  const sets: string[] = [];
  const group: Pair[] = pairs.map(([source, destination], index) => ({
    index,
    src: MigrationSession.open(source, { ...opts.session, role: 'source' }),
    dst: MigrationSession.open(destination, { ...opts.session, role: 'destination' }),
    source,
    destination,
    policy: new PrecopyPolicy(opts.policy),
    decisions: [],
    precopyBytes: 0,
    stopCopyBytes: 0,
    rounds: 0,
    precopying: false,
    sourceDigest: null,
    destinationBefore: null,
    sourceBefore: null,
  }));
  const reversed = [...group].reverse();
  const io: ReadCounters = { eintr: 0, eagain: 0, enomsg: 0 };
  const buf = Buffer.allocUnsafe(CHUNK);
  const outcomes = () => [...group.map((p) => p.src.outcome()), ...group.map((p) => parkIfCommitted(p.dst))];

  /** One SET step of one device, logged; a failure is that device's side. */
  const move = (p: Pair, side: 'source' | 'destination', target: StateName) => {
    const s = side === 'source' ? p.src : p.dst;
    if (s.state === target) return;
    const before = s.report.steps.length;
    try {
      s.moveTo(target);
    } finally {
      for (const step of s.report.steps.slice(before))
        if (step.op.startsWith('SET ')) sets.push(`${side} ${p.index} ${step.to}`);
    }
  };

  /** Move bytes from a source's data fd to its destination's, up to `limit`; read failures are the source's. */
  const copy = (p: Pair, limit: number) =>
    copySome(
      p.src.dataFd,
      buf,
      limit,
      (n) => {
        try {
          writeAll(p.dst.dataFd, buf, n, io);
        } catch (e) {
          if (!(e instanceof FdIoError)) throw e;
          throw new VfioError(`the stream was refused: write data fd failed in RESUMING: ${errnoName(e.errno)}`, {
            kind: 'kernel',
            op: 'write data fd',
            fdKind: 'migration_data',
            state: 'RESUMING',
            errno: e.errno,
          }).placeOn('destination', p.dst.deviceName);
        }
      },
      io,
    );

  let failing: { pair: Pair; side: 'source' | 'destination' } | null = null;
  const on = <T>(pair: Pair, side: 'source' | 'destination', f: () => T): T => {
    failing = { pair, side };
    return f();
  };

  try {
    for (const p of group) {
      on(p, 'source', () => checkSaveStart(p.src));
      on(p, 'destination', () => checkLoadStart(p.dst));
    }
    for (const p of group) {
      p.sourceBefore = (await p.source.snapshot())?.digest ?? null;
      p.destinationBefore = (await p.destination.snapshot())?.digest ?? null;
    }
    // 1. Destinations ready to receive.
    for (const p of group) on(p, 'destination', () => move(p, 'destination', 'RESUMING'));
    // 2. Pre-copy: setup in order, then one round per device in turn until every policy stops.
    for (const p of group) {
      const caps = p.source.requireMigration();
      p.precopying = (opts.precopy ?? true) && caps.preCopy && p.src.state !== 'STOP';
      if (p.precopying)
        on(p, 'source', () => move(p, 'source', p.src.state === 'RUNNING_P2P' ? 'PRE_COPY_P2P' : 'PRE_COPY'));
    }
    for (let active = group.filter((p) => p.precopying); active.length;) {
      for (const p of active) {
        on(p, 'source', () => {
          p.rounds++;
          const before = p.src.queryPrecopyInfo();
          const budget = before.ok ? Number(before.initialBytes + before.dirtyBytes) : Infinity;
          p.precopyBytes += readOrFail(p, () => copy(p, budget)).bytes;
          const after = p.src.queryPrecopyInfo();
          const decision = p.policy.decide(p.rounds, after.ok ? after : null);
          p.decisions.push(decision);
        });
      }
      active = active.filter((p) => !p.decisions.at(-1)!.stop);
    }
    // 3. The stop barrier: every P2P source stops initiating first, then each stops, in reverse order.
    for (const p of reversed)
      if (p.source.requireMigration().p2p)
        on(p, 'source', () => move(p, 'source', p.precopying ? 'PRE_COPY_P2P' : 'RUNNING_P2P'));
    for (const p of reversed) on(p, 'source', () => move(p, 'source', p.precopying ? 'STOP_COPY' : 'STOP'));
    // 4. Each source's remaining data, in order, then its cleanup to STOP.
    for (const p of group) {
      on(p, 'source', () => move(p, 'source', 'STOP_COPY'));
      for (;;) {
        const r = on(p, 'source', () => readOrFail(p, () => copy(p, Infinity)));
        p.stopCopyBytes += r.bytes;
        if (r.end === 'eof') break;
        if (r.end === 'nothing-now')
          p.src.record({
            rule: 'stream.eof',
            op: 'read',
            state: 'STOP_COPY',
            spec: 'data, or 0 at the end',
            kernel: 'ENOMSG',
          });
      }
      p.sourceDigest = (await p.source.snapshot())?.digest ?? null;
    }
    for (const p of group) on(p, 'source', () => move(p, 'source', 'STOP'));
    // 5. The start barrier: every P2P destination to RUNNING_P2P first, then each to its final state, in order.
    const final = opts.destinationFinalState ?? 'RUNNING';
    if (final === 'RUNNING')
      for (const p of group)
        if (p.destination.requireMigration().p2p) on(p, 'destination', () => move(p, 'destination', 'RUNNING_P2P'));
    for (const p of group) on(p, 'destination', () => move(p, 'destination', final));
    failing = null;

    const devices: GroupDeviceResult[] = [];
    for (const p of group) {
      const after = (await p.destination.snapshot())?.digest ?? null;
      const verification = verificationOf(p.sourceDigest, after, p.sourceBefore, p.destinationBefore);
      devices.push({
        source: p.src.deviceName,
        destination: p.dst.deviceName,
        precopyBytes: p.precopyBytes,
        stopCopyBytes: p.stopCopyBytes,
        totalBytes: p.precopyBytes + p.stopCopyBytes,
        rounds: p.rounds,
        decisions: p.decisions,
        verification,
        sourceReport: p.src.report,
        destinationReport: p.dst.report,
      });
    }
    const mismatch = devices.find((d) => d.verification.checked && !d.verification.equal);
    if (mismatch) {
      abortAll(group, 'verification failed');
      throw new VfioError(
        `verification failed: destination ${mismatch.destination}'s state digest differs from source ${mismatch.source}'s`,
        { kind: 'verification', op: 'verify', fdKind: 'device' },
      ).withOutcome(outcomes());
    }
    return {
      devices,
      sets,
      outcome: [...group.map((p) => p.src.outcome('completed')), ...group.map((p) => p.dst.outcome('completed'))],
      elapsedMs: performance.now() - t0,
    };
  } catch (e) {
    if (isVfioError(e, 'verification')) throw e;
    const where = failing as { pair: Pair; side: 'source' | 'destination' } | null;
    const side = isVfioError(e) && e.side ? e.side.role : (where?.side ?? 'source');
    const err = isVfioError(e)
      ? e
      : new VfioError(`group migration failed: ${(e as Error).message}`, {
          kind: 'kernel',
          op: 'migrate',
          fdKind: 'device',
          cause: e,
        });
    if (where && side !== 'device')
      err.placeOn(side, side === 'source' ? where.pair.src.deviceName : where.pair.dst.deviceName);
    abortAll(group, `${err.side ? `${err.side.role} ${err.side.device}: ` : ''}${err.detail}`);
    throw err.withOutcome(outcomes());
  } finally {
    for (const p of group) {
      p.src.close();
      p.dst.close();
    }
  }
}

/** A read of a source's data fd that failed is that source's failure, as a VfioError. */
function readOrFail<T>(p: Pair, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof FdIoError) throw fromIo(e, 'device', p.src.state);
    throw e;
  }
}

/**
 * Undo: every destination that entered RESUMING is reset (what it received is discarded); then every source
 * returns to where it started, in order. Devices already recovered by a failed SET are left as they are.
 */
function abortAll(group: Pair[], why: string): void {
  for (const p of group)
    if ((p.dst.enteredResuming || p.dst.report.steps.some((s) => s.ok)) && !p.dst.report.recoveries.length)
      safeRecover(p.dst, why);
  for (const p of group)
    if (p.src.report.steps.some((s) => s.ok) && !p.src.report.recoveries.length) safeRecover(p.src, why);
}
