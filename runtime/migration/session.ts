/**
 * A migration session: owns the data fd, tracks the device's migration state, moves along the path the
 * spec derives, guards every call with the generated rules, and recovers by its role when anything fails
 * (PROTOCOL.md): a source goes back to the state it started in, a destination that entered RESUMING is reset
 * so that nothing it received is ever loaded.
 *
 * Guards: `strict` refuses before the syscall what the rules forbid (naming the rule) — so the runtime can
 * never issue STOP_COPY→PRE_COPY, which spins forever in real 6.12 kernels; `audit` issues the call and
 * records in the report what the kernel did against what the spec says.
 */
import {
  decodeVfioDeviceFeatureMigDataSize,
  encodeVfioDeviceFeatureDmaLoggingControl,
  encodeVfioDeviceFeatureDmaLoggingRange,
  encodeVfioDeviceFeatureDmaLoggingReport,
  decodeVfioDeviceFeatureDmaLoggingControl,
  encodeVfioPrecopyInfo,
  type VfioPrecopyInfo,
} from '../../generated/codecs.js';
import { VFIO_PRECOPY_INFO_REINIT, type StateName } from '../../generated/constants.js';
import { arcFor, type CapsKey, type FdEffect } from '../../generated/fsm.js';
import { checkRequest, isAllowed, type GuardResult } from '../../generated/validators.js';
import type { Device } from '../device/device.js';
import { featureLabel } from '../device/feature-call.js';
import { ioctlCount, ioctlDirect, threadErrno, vfio } from '../device/ioctls.js';
import { VfioError } from '../errors.js';
import { IOCTLS } from '../../generated/constants.js';
import { addressOf, close, Errno, errnoName, lastErrno, read, write } from '../sys/index.js';
import type { DeviceOutcome, DeviceRole } from './outcome.js';
import { emptyReport, type AuditRecord, type RecoveryRecord, type SessionReport } from './report.js';

/**
 * `stepwise`: one SET per arc of the spec's path, each verified with GET. `direct`: one SET of the target (the
 * kernel walks the path). `qemu`: the SETs QEMU's hw/vfio/migration.c issues — each of its states with one SET,
 * through PRE_COPY_P2P or RUNNING_P2P when the device has P2P (see qemuWaypoints).
 */
export type SessionMode = 'stepwise' | 'direct' | 'qemu';
export type GuardMode = 'strict' | 'audit';
export type SessionRole = 'source' | 'destination';

export interface SessionOptions {
  mode?: SessionMode;
  guard?: GuardMode;
  /**
   * What the session is for. Default: decided by the first data fd it opens (saving: source, resuming:
   * destination). It decides recovery (PROTOCOL.md).
   */
  role?: SessionRole;
  /**
   * Where a source returns after a failure, before falling back to VFIO_DEVICE_RESET (default: the state the
   * session started in, if that is RUNNING, RUNNING_P2P or STOP; else RUNNING); null: reset at once. Never used
   * once the device entered RESUMING: a destination is always reset, so nothing it received is loaded.
   */
  recoveryState?: StateName | null;
  /**
   * Send the PRECOPY_INFOv2 opt-in (VFIO_DEVICE_FEATURE SET MIG_PRECOPY_INFOv2) so PRECOPY_INFO may report
   * REINIT. Default false, as QEMU (hw/vfio/migration.c) sends no opt-in. EINVAL and ENOTTY mean "not
   * available"; no answer aborts the session.
   */
  precopyInfoV2?: boolean;
}

export interface PrecopyInfo {
  initialBytes: bigint;
  dirtyBytes: bigint;
  /** The device restarted its initial data (v2 opt-in only). */
  reinit: boolean;
}

/** What `queryPrecopyInfo()` answers: the info, or why there is none — each reason its own type. */
export type PrecopyQuery =
  | ({ ok: true } & PrecopyInfo)
  /** The rules forbid the call in this state; strict mode made no syscall. */
  | { ok: false; reason: 'refused'; rule: string; message: string }
  /** The session holds no saving data fd (never opened, or ended). */
  | { ok: false; reason: 'no-data-fd' }
  /** The ioctl failed (or, in audit mode, was issued against the rules and failed). */
  | { ok: false; reason: 'errno'; errno: number; errnoName: string };

/** What one read of the saving data fd gave (`MigrationSession.readData`). */
export type DataRead =
  | { kind: 'bytes'; bytes: number }
  /** ENOMSG: nothing more for now, the temporary end of pre-copy data (PRE_COPY and PRE_COPY_P2P only). */
  | { kind: 'nothing-now'; errnoName: 'ENOMSG' }
  /** EAGAIN: the fd is non-blocking and has nothing yet; poll it and read again. */
  | { kind: 'would-block'; errnoName: 'EAGAIN' }
  /** read() returned 0: the permanent end of the stream (in STOP_COPY), or of pre-copy data for drivers without ENOMSG. */
  | { kind: 'end' };

const NOTHING_NOW: DataRead = Object.freeze({ kind: 'nothing-now', errnoName: 'ENOMSG' });
const WOULD_BLOCK: DataRead = Object.freeze({ kind: 'would-block', errnoName: 'EAGAIN' });
const END: DataRead = Object.freeze({ kind: 'end' });
const NO_DATA_FD: PrecopyQuery = Object.freeze({ ok: false, reason: 'no-data-fd' });

const PRECOPY_OP = 'VFIO_MIG_GET_PRECOPY_INFO';
const PRECOPY_REQUEST = IOCTLS.VFIO_MIG_GET_PRECOPY_INFO.generic;
/** The states a device may rest in between migrations: where sessions return a source to. */
export const REST_STATES: readonly StateName[] = ['RUNNING', 'RUNNING_P2P', 'STOP'];

/**
 * The states QEMU's hw/vfio/migration.c sets on the way from `from` to `to`, each with one SET (commit
 * 019d9e6c of qemu/qemu): stopping a running device passes through its P2P state first when it has P2P
 * (vfio_vmstate_change_prepare: PRE_COPY → PRE_COPY_P2P, RUNNING → RUNNING_P2P); STOP_COPY is only requested
 * from STOP or a pre-copy state (vfio_save_complete_precopy), so RUNNING(_P2P) → STOP_COPY goes through STOP;
 * starting a device passes through RUNNING_P2P first (the prepare callback on VM start). Requests QEMU makes
 * in one SET (→ RESUMING, → PRE_COPY, → STOP, recovery to RUNNING) stay one SET.
 */
export function qemuWaypoints(caps: CapsKey, from: StateName, to: StateName): StateName[] {
  const p2p = caps.includes('P2P');
  const out: StateName[] = [];
  let at = from;
  const via = (s: StateName) => {
    if (s !== at && s !== to && checkRequest(caps, at, s).ok) {
      out.push(s);
      at = s;
    }
  };
  const stopping = to === 'STOP' || to === 'STOP_COPY';
  if (p2p && stopping && at === 'PRE_COPY') via('PRE_COPY_P2P');
  if (p2p && stopping && at === 'RUNNING') via('RUNNING_P2P');
  if (to === 'STOP_COPY' && (at === 'RUNNING' || at === 'RUNNING_P2P')) via('STOP');
  if (p2p && to === 'RUNNING' && (at === 'RESUMING' || at === 'STOP' || at === 'STOP_COPY')) via('RUNNING_P2P');
  if (at !== to) out.push(to);
  return out;
}

export class MigrationSession {
  private current: StateName;
  private fd = -1;
  private fdDirection: 'saving' | 'resuming' | null = null;
  readonly report: SessionReport;
  readonly mode: SessionMode;
  readonly guard: GuardMode;
  /** The state the device was in when the session started. */
  readonly startState: StateName;
  /** True once the v2 opt-in succeeded: PRECOPY_INFO flags are then meaningful. */
  precopyV2 = false;
  private roleValue: SessionRole | null;
  /** The device entered RESUMING in this session: from now on every recovery is a reset. */
  private resumingEntered = false;
  /** The device left RESUMING with a successful SET: it loaded what it received. */
  private committedValue = false;
  private readonly recoveryState: StateName | null | undefined;
  /**
   * The PRECOPY_INFO argument, encoded once: argsz 24 and flags 0 stay put between calls (the kernel writes
   * only the byte counts, and flags in v2); the slow path re-encodes if a device wrote anything else.
   */
  private readonly piBuf = Buffer.from(new ArrayBuffer(24));
  private readonly piWords = new Uint32Array(this.piBuf.buffer, 0, 2);
  private readonly piCounts = new BigUint64Array(this.piBuf.buffer, 8, 2);
  private readonly piRequest: VfioPrecopyInfo = { argsz: 24, flags: 0, initial_bytes: 0n, dirty_bytes: 0n };
  private auditSeen = new Map<string, AuditRecord & { count: number }>();
  private dmaLogging = false;
  private precopyGuardState: StateName | null = null;
  private precopyGuard: GuardResult = { allowed: true };
  /** The guard for precopyGuardState allows the call (the one test on the hot path). */
  private precopyAllowed = false;
  /** The strict-mode refusal for precopyGuardState, made once per state. */
  private precopyRefusal: PrecopyQuery = NO_DATA_FD;

  private constructor(
    readonly device: Device | null,
    readonly capsKey: CapsKey,
    state: StateName,
    opts: SessionOptions,
  ) {
    this.current = state;
    this.startState = state;
    this.mode = opts.mode ?? 'stepwise';
    this.guard = opts.guard ?? 'strict';
    this.roleValue = opts.role ?? null;
    this.recoveryState = opts.recoveryState;
    this.report = emptyReport(this.mode, this.guard, capsKey);
    encodeVfioPrecopyInfo(this.piRequest, new DataView(this.piBuf.buffer, 0, 24), 0);
  }

  /**
   * Start a session on an open device: reads its capabilities and state; sends the PRECOPY_INFOv2 opt-in only
   * when `precopyInfoV2` asks for it.
   */
  static open(device: Device, opts: SessionOptions = {}): MigrationSession {
    const caps = device.requireMigration();
    const s = new MigrationSession(device, caps.capsKey as CapsKey, device.state(), opts);
    if (caps.preCopy && opts.precopyInfoV2 === true) s.enablePrecopyInfoV2();
    return s;
  }

  /**
   * A session around a data fd obtained elsewhere (handed over by another process, or /dev/null in benches).
   * It has no device, so it cannot change state; it owns and closes the fd.
   */
  static forDataFd(fd: number, state: StateName, capsKey: CapsKey, opts: SessionOptions = {}): MigrationSession {
    const s = new MigrationSession(null, capsKey, state, opts);
    s.fd = fd;
    s.fdDirection = state === 'RESUMING' ? 'resuming' : 'saving';
    return s;
  }

  get state(): StateName {
    return this.current;
  }

  /** The open data fd, or -1. */
  get dataFd(): number {
    return this.fd;
  }

  get dataFdDirection(): 'saving' | 'resuming' | null {
    return this.fdDirection;
  }

  /** Source or destination, once known (given, or decided by the first data fd the session opened). */
  get role(): SessionRole | null {
    return this.roleValue;
  }

  /** Take a role if none was given yet (saveStream: source, loadStream: destination); a given role stays. */
  assumeRole(role: SessionRole): void {
    this.roleValue ??= role;
  }

  /** Whether the device entered RESUMING in this session (every recovery is then a reset). */
  get enteredResuming(): boolean {
    return this.resumingEntered;
  }

  /** Whether the device left RESUMING with a successful SET, i.e. loaded what it received. */
  get committed(): boolean {
    return this.committedValue;
  }

  /** How the device's owner names it. */
  get deviceName(): string {
    return this.device?.id.spec ?? 'data fd';
  }

  private requireDevice(op: string): Device {
    if (!this.device)
      throw new VfioError(`${op} needs a device; this session only holds a data fd`, {
        kind: 'usage',
        op,
        fdKind: 'device',
        state: this.current,
      });
    return this.device;
  }

  // ---- state changes ----

  /** Move to `target` along the spec's path (see `mode`), guarded; recovers and throws on failure. */
  moveTo(target: StateName): void {
    const device = this.requireDevice(`SET ${target}`);
    if (target === this.current) return;
    const req = checkRequest(this.capsKey, this.current, target);
    if (!req.ok) {
      if (this.guard === 'strict') {
        this.report.refused.push({ op: `SET ${target}`, state: this.current, rule: req.rule, message: req.message });
        throw new VfioError(`refused ${this.current} -> ${target}: ${req.message}`, {
          kind: 'refused',
          op: featureLabel('VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE', 'SET', `=${target}`),
          fdKind: 'device',
          state: this.current,
          rule: req.rule,
        });
      }
      return this.auditForbiddenRequest(device, target, req.rule, req.errno);
    }
    if (this.mode === 'direct') this.setAndVerify(device, target, [this.current, ...req.path]);
    else if (this.mode === 'qemu')
      for (const waypoint of qemuWaypoints(this.capsKey, this.current, target)) {
        const leg = checkRequest(this.capsKey, this.current, waypoint);
        this.setAndVerify(device, waypoint, leg.ok ? [this.current, ...leg.path] : [this.current, waypoint]);
      }
    else for (const step of req.path) this.setAndVerify(device, step, [this.current, step]);
  }

  /** One SET, then GET to verify; `states` is the path it walks (from first), used for the fd effects. */
  private setAndVerify(device: Device, target: StateName, states: StateName[]): void {
    const from = this.current;
    const t0 = performance.now();
    const r = device.setStateRaw(target);
    const ms = performance.now() - t0;
    const op = `SET ${target}`;
    if (!r.ok) {
      this.report.steps.push({ op, from, to: target, ok: false, errno: errnoName(r.errno), ms });
      this.fail(op, r.errno);
    }
    const effects = arcEffects(this.capsKey, states);
    const fdNote = this.applyFdEffects(effects, r.dataFd, op);
    this.report.steps.push({ op, from, to: target, ok: true, fd: fdNote, ms });
    const g = device.getStateRaw();
    if (!g.ok) this.fail(`GET after ${op}`, g.errno);
    if (g.state !== target) {
      this.record({
        rule: 'mig.state.set.fd',
        op,
        state: from,
        spec: `device is in ${target} after a successful SET`,
        kernel: `GET says ${g.state}`,
      });
      this.current = g.state;
      this.fail(op, Errno.EIO);
    }
    this.current = target;
    if (target === 'RESUMING') this.noteResuming();
    if (from === 'RESUMING' && target !== 'RESUMING') this.committedValue = true;
  }

  private noteResuming(): void {
    this.resumingEntered = true;
    this.roleValue ??= 'destination';
  }

  /** Apply what the walked arcs do to the data fd: close ended sessions, adopt a new fd, never keep a stray one. */
  private applyFdEffects(effects: FdEffect[], returnedFd: number, op: string): string {
    const last = effects[effects.length - 1] ?? 'none';
    const ends = effects.includes('ends');
    if (ends) this.closeDataFd();
    if (last === 'opens-saving' || last === 'opens-resuming') {
      if (returnedFd < 0) {
        this.record({
          rule: 'mig.state.set.fd',
          op,
          state: this.current,
          spec: 'a new data fd',
          kernel: 'data_fd = -1',
        });
        return 'expected a new fd, got none';
      }
      this.closeDataFd();
      this.fd = returnedFd;
      this.fdDirection = last === 'opens-saving' ? 'saving' : 'resuming';
      if (last === 'opens-saving') this.roleValue ??= 'source';
      else this.noteResuming();
      this.report.dataFdsOpened++;
      return `opened fd ${returnedFd}`;
    }
    if (returnedFd >= 0) {
      // The spec says -1 here; close what we were given so it cannot leak, and note the violation.
      this.report.dataFdsOpened++;
      close(returnedFd);
      this.report.dataFdsClosed++;
      this.record({
        rule: 'mig.state.set.fd',
        op,
        state: this.current,
        spec: 'data_fd = -1',
        kernel: `data_fd = ${returnedFd} (closed)`,
      });
      return 'unexpected fd closed';
    }
    return ends ? 'session ended' : last === 'keeps' ? 'fd kept' : 'none';
  }

  /** Audit mode: issue a request the spec forbids and record what the kernel did. */
  private auditForbiddenRequest(device: Device, target: StateName, rule: string, specErrno: string): void {
    const op = `SET ${target}`;
    const from = this.current;
    const r = device.setStateRaw(target);
    this.record({
      rule,
      op,
      state: from,
      spec: `refuse with ${specErrno}`,
      kernel: r.ok ? `accepted (data_fd ${r.dataFd})` : errnoName(r.errno),
    });
    if (r.ok && r.dataFd >= 0) {
      this.closeDataFd();
      this.fd = r.dataFd;
      this.fdDirection = 'saving';
      this.report.dataFdsOpened++;
    }
    this.current = this.observe(device) ?? this.current;
    if (!r.ok) this.fail(op, r.errno);
  }

  /**
   * A SET failed: close the data fd (the stream cannot continue), recover by role (see recover), and throw
   * the failure with where the device ended.
   */
  private fail(op: string, errno: number): never {
    const failedIn = this.current;
    this.closeDataFd();
    this.recover(`${op}: ${errnoName(errno)}`);
    const call = op.startsWith('SET ')
      ? featureLabel('VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE', 'SET', `=${op.slice(4)}`)
      : op.startsWith('GET after SET ')
        ? `${featureLabel('VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE', 'GET')} after SET ${op.slice('GET after SET '.length)}`
        : op;
    throw VfioError.fromErrno(call, 'device', errno, {
      state: failedIn,
      rule: 'mig.state.error_reset',
    }).withOutcome([this.outcome()]);
  }

  /** The state a source goes back to (see SessionOptions.recoveryState). */
  private recoveryTarget(): StateName | null {
    if (this.recoveryState !== undefined) return this.recoveryState;
    return REST_STATES.includes(this.startState) ? this.startState : 'RUNNING';
  }

  /**
   * Bring the device to a known state after any failure (PROTOCOL.md), close the data fd, and record what
   * was done. A device that entered RESUMING in this session (or is found in RESUMING or ERROR) is reset with
   * VFIO_DEVICE_RESET: leaving RESUMING through STOP would load what it received, which was not verified or
   * was refused. Anything else goes back to the recovery target with one SET, and is reset if that fails.
   * Never throws for the device's sake; returns the record (also in `report.recoveries`).
   */
  recover(after = 'abort'): RecoveryRecord {
    const device = this.requireDevice('recover');
    this.closeDataFd();
    const observed = this.observe(device);
    const target = this.recoveryTarget();
    const mustReset =
      this.resumingEntered || observed === null || observed === 'ERROR' || observed === 'RESUMING' || target === null;
    let action: RecoveryRecord['action'] = 'none';
    let finalState: StateName | null = observed;
    let ok = false;
    if (!mustReset && observed === target) ok = true;
    else if (!mustReset && checkRequest(this.capsKey, observed!, target!).ok) {
      action = 'recovery-state';
      ok = this.setOnce(device, target!);
      finalState = this.observe(device);
      ok = ok && finalState === target;
    }
    if (!ok) {
      action = 'reset';
      const r = vfio.VFIO_DEVICE_RESET(device.fd);
      finalState = this.observe(device) ?? (r.ok ? 'RUNNING' : null);
      ok = r.ok && finalState === 'RUNNING';
      // A source that rested stopped goes back to rest stopped: RUNNING -> STOP carries no data.
      if (
        ok &&
        !this.resumingEntered &&
        target &&
        target !== 'RUNNING' &&
        checkRequest(this.capsKey, 'RUNNING', target).ok
      ) {
        if (this.setOnce(device, target)) finalState = this.observe(device) ?? finalState;
      }
    }
    if (finalState) this.current = finalState;
    const record: RecoveryRecord = {
      after,
      role: this.roleValue,
      observed,
      action,
      target: this.resumingEntered || target === null ? 'RUNNING' : target,
      finalState,
      discarded: this.resumingEntered,
      ok,
    };
    this.report.recoveries.push(record);
    return record;
  }

  /** One SET (its fd, if any, closed at once); true when it succeeded. */
  private setOnce(device: Device, target: StateName): boolean {
    const r = device.setStateRaw(target);
    if (r.ok && r.dataFd >= 0) close(r.dataFd);
    return r.ok;
  }

  private observe(device: Device): StateName | null {
    const g = device.getStateRaw();
    return g.ok ? g.state : null;
  }

  /**
   * Where this session's device stands, for results and errors: its role, name, state (GET now) and what the
   * last recovery did (`completed` when there was none and `completed` is passed, else `untouched`).
   */
  outcome(whenFine: 'completed' | 'untouched' = 'untouched'): DeviceOutcome {
    const state = this.device && !this.device.isClosed ? this.observe(this.device) : this.current;
    const last = this.report.recoveries.at(-1);
    const role: DeviceRole = this.roleValue ?? 'device';
    const action =
      last === undefined
        ? this.report.steps.some((s) => s.ok) || whenFine === 'completed'
          ? whenFine
          : 'untouched'
        : last.action === 'reset'
          ? 'reset'
          : last.action === 'recovery-state' || this.report.steps.some((s) => s.ok)
            ? 'returned'
            : 'untouched';
    return { role, device: this.deviceName, state, action };
  }

  // ---- queries ----

  /** VFIO_MIG_GET_PRECOPY_INFO, guarded; throws on failure. */
  precopyInfo(): PrecopyInfo & { ok: true } {
    const r = this.queryPrecopyInfo();
    if (r.ok) return r;
    if (r.reason === 'refused')
      throw new VfioError(r.message, {
        kind: 'refused',
        op: PRECOPY_OP,
        fdKind: 'migration_data',
        state: this.current,
        rule: r.rule,
      });
    if (r.reason === 'no-data-fd')
      throw new VfioError(`${PRECOPY_OP} needs an open saving data fd (the session has none)`, {
        kind: 'usage',
        op: PRECOPY_OP,
        fdKind: 'migration_data',
        state: this.current,
      });
    throw VfioError.fromErrno(PRECOPY_OP, 'migration_data', r.errno, {
      state: this.current,
      rule: r.errno === Errno.ENOTTY ? 'precopy.mandatory' : undefined,
    });
  }

  /**
   * VFIO_MIG_GET_PRECOPY_INFO without exceptions: `{ ok: true, …info }`, or `{ ok: false, reason }` where the
   * reason is `refused` (the rules forbid it here; strict mode made no syscall), `no-data-fd` or `errno`.
   * The hot path: one reused buffer, generated encode/decode, one ioctl.
   */
  queryPrecopyInfo(): PrecopyQuery {
    // The hot path: one state comparison, one koffi call, two u64 loads. Everything unusual is out of line.
    if (this.precopyGuardState !== this.current) this.evaluatePrecopyGuard();
    if (!this.precopyAllowed) return this.precopyInfoAgainstGuard();
    const fd = this.fd;
    if (fd < 0) return NO_DATA_FD;
    ioctlCount.issued++;
    if (ioctlDirect(fd, PRECOPY_REQUEST, this.piBuf) < 0) return errnoQuery(threadErrno[0]!);
    const words = this.piWords;
    if (words[0] !== 24 || words[1] !== 0) return this.precopyInfoWithHeaderWritten();
    const counts = this.piCounts;
    return { ok: true, initialBytes: counts[0]!, dirtyBytes: counts[1]!, reinit: false };
  }

  /** The generated guard, evaluated once per state (states change rarely; the query may be hot). */
  private evaluatePrecopyGuard(): void {
    const guard = isAllowed(PRECOPY_OP, 'migration_data', this.current);
    this.precopyGuard = guard;
    this.precopyGuardState = this.current;
    this.precopyAllowed = guard.allowed;
    this.precopyRefusal = guard.allowed
      ? NO_DATA_FD
      : Object.freeze({ ok: false, reason: 'refused', rule: guard.rule, message: guard.message });
  }

  /** The rules forbid PRECOPY_INFO here: strict refuses; audit issues it and records what happened. */
  private precopyInfoAgainstGuard(): PrecopyQuery {
    const guard = this.precopyGuard;
    if (guard.allowed) return NO_DATA_FD;
    if (this.guard === 'strict') {
      this.noteRefused(PRECOPY_OP, guard.rule, guard.message);
      return this.precopyRefusal;
    }
    if (this.fd < 0) return NO_DATA_FD;
    const r = vfio.VFIO_MIG_GET_PRECOPY_INFO(this.fd, this.piBuf);
    this.record({
      rule: guard.rule,
      op: PRECOPY_OP,
      state: this.current,
      spec: guard.errno,
      kernel: r.ok ? 'answered' : errnoName(r.errno),
    });
    if (!r.ok) return errnoQuery(r.errno);
    const words = this.piWords;
    if (words[0] !== 24 || words[1] !== 0) return this.precopyInfoWithHeaderWritten();
    return { ok: true, initialBytes: this.piCounts[0]!, dirtyBytes: this.piCounts[1]!, reinit: false };
  }

  /** The device wrote argsz or flags: note REINIT (v2) or a bad argsz, and restore the request for next time. */
  private precopyInfoWithHeaderWritten(): PrecopyQuery {
    const [argsz, flags] = this.piWords;
    if (argsz !== 24)
      this.record({
        rule: 'precopy.args.argsz',
        op: PRECOPY_OP,
        state: this.current,
        spec: 'argsz written back as 24',
        kernel: `argsz ${argsz}`,
      });
    const reinit = this.precopyV2 && (flags! & VFIO_PRECOPY_INFO_REINIT) !== 0;
    if (reinit) this.report.reinits++;
    const info = { ok: true as const, initialBytes: this.piCounts[0]!, dirtyBytes: this.piCounts[1]!, reinit };
    this.piWords[0] = 24;
    this.piWords[1] = 0;
    return info;
  }

  /** readData/writeData need the data fd open in their direction: a usage error otherwise. */
  private requireDataFd(direction: 'saving' | 'resuming'): void {
    if (this.fd >= 0 && this.fdDirection === direction) return;
    const [doing, call] = direction === 'saving' ? ['reading', 'read'] : ['writing', 'write'];
    throw new VfioError(`${doing} needs an open ${direction} data fd (the session has none)`, {
      kind: 'usage',
      op: `${call} data fd`,
      fdKind: 'migration_data',
      state: this.current,
    });
  }

  /**
   * One read of the saving data fd into `buf` (from `offset`, at most `length` bytes), as a typed result:
   * bytes, `nothing-now` (ENOMSG), `would-block` (EAGAIN) or `end` (0). EINTR is retried; any other errno
   * throws a VfioError naming the state.
   */
  readData(buf: Buffer, offset = 0, length = buf.length - offset): DataRead {
    this.requireDataFd('saving');
    const into = offset === 0 ? buf : buf.subarray(offset);
    for (;;) {
      const n = read(this.fd, into, length);
      if (n > 0) return { kind: 'bytes', bytes: n };
      if (n === 0) return END;
      const errno = lastErrno();
      if (errno === Errno.EINTR) continue;
      if (errno === Errno.ENOMSG) return NOTHING_NOW;
      if (errno === Errno.EAGAIN) return WOULD_BLOCK;
      throw VfioError.fromErrno('read data fd', 'migration_data', errno, { state: this.current });
    }
  }

  /** Write all `length` bytes of `buf` to the resuming data fd (EINTR retried); throws on any failure. */
  writeData(buf: Buffer, length = buf.length): void {
    this.requireDataFd('resuming');
    for (let done = 0; done < length;) {
      const n = write(this.fd, done === 0 ? buf : buf.subarray(done), length - done);
      if (n > 0) {
        done += n;
        continue;
      }
      const errno = n === 0 ? Errno.EIO : lastErrno();
      if (errno === Errno.EINTR) continue;
      throw VfioError.fromErrno('write data fd', 'migration_data', errno, { state: this.current });
    }
  }

  /**
   * MIG_DATA_SIZE: the driver's estimate of the STOP_COPY volume (any state). It only feeds progress, so it
   * never fails: null when the device does not answer (EINVAL and ENOTTY mean "not available"; anything else
   * is noted in `report.unavailable`).
   */
  dataSize(): bigint | null {
    const device = this.requireDevice('MIG_DATA_SIZE');
    const op = featureLabel('VFIO_DEVICE_FEATURE_MIG_DATA_SIZE', 'GET');
    const { errno, payload } = device.featureCall('VFIO_DEVICE_FEATURE_MIG_DATA_SIZE', 'GET');
    if (errno === 0) return decodeVfioDeviceFeatureMigDataSize(payload, 0).stop_copy_length;
    this.noteUnavailable(op, errno, 'no estimate of the STOP_COPY size for progress');
    return null;
  }

  /**
   * SET MIG_PRECOPY_INFOv2 so PRECOPY_INFO may report REINIT. Never throws: EINVAL (kernels before the core
   * handled the feature answer EINVAL for drivers without a feature op: vfio_ioctl_device_feature in
   * drivers/vfio/vfio_main.c, e.g. torvalds/linux 037dd130) and ENOTTY
   * (kernels without the feature) mean "not available"; any other errno is noted in `report.unavailable`.
   */
  enablePrecopyInfoV2(): boolean {
    const device = this.requireDevice('MIG_PRECOPY_INFOv2');
    const { errno } = device.featureCall('VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2', 'SET');
    if (errno === 0) return (this.precopyV2 = true);
    this.noteUnavailable(
      featureLabel('VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2', 'SET'),
      errno,
      'PRECOPY_INFO flags stay reserved (no REINIT)',
    );
    return false;
  }

  private noteUnavailable(op: string, errno: number, effect: string): void {
    const name = errnoName(errno);
    if (!this.report.unavailable.some((u) => u.op === op && u.errno === name))
      this.report.unavailable.push({
        op,
        errno: name,
        effect,
        expected: errno === Errno.EINVAL || errno === Errno.ENOTTY,
      });
  }

  // ---- DMA logging ----

  /** Start DMA dirty logging over `ranges`; returns the page size the device chose. */
  startDmaLogging(ranges: { iova: bigint; length: bigint }[], pageSize = 4096n): bigint {
    const device = this.requireDevice('DMA_LOGGING_START');
    const list = Buffer.alloc(16 * ranges.length);
    const lv = new DataView(list.buffer, list.byteOffset, list.byteLength);
    ranges.forEach((r, i) => encodeVfioDeviceFeatureDmaLoggingRange(r, lv, i * 16));
    const { errno, payload } = device.featureCall('VFIO_DEVICE_FEATURE_DMA_LOGGING_START', 'SET', (p) =>
      encodeVfioDeviceFeatureDmaLoggingControl(
        { page_size: pageSize, num_ranges: ranges.length, __reserved: 0, ranges: addressOf(list) },
        p,
        0,
      ),
    );
    if (errno)
      throw VfioError.fromErrno(featureLabel('VFIO_DEVICE_FEATURE_DMA_LOGGING_START', 'SET'), 'device', errno, {
        state: this.current,
      });
    this.dmaLogging = true;
    return decodeVfioDeviceFeatureDmaLoggingControl(payload, 0).page_size;
  }

  /** Read (and clear) the dirty bitmap of one range: bit i = page iova + i*pageSize was written. */
  reportDmaLogging(iova: bigint, length: bigint, pageSize = 4096n): Buffer {
    const device = this.requireDevice('DMA_LOGGING_REPORT');
    const pages = Number((length + pageSize - 1n) / pageSize);
    const bitmap = Buffer.alloc(Math.ceil(pages / 64) * 8);
    const { errno } = device.featureCall('VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT', 'GET', (p) =>
      encodeVfioDeviceFeatureDmaLoggingReport({ iova, length, page_size: pageSize, bitmap: addressOf(bitmap) }, p, 0),
    );
    if (errno)
      throw VfioError.fromErrno(featureLabel('VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT', 'GET'), 'device', errno, {
        state: this.current,
      });
    return bitmap;
  }

  stopDmaLogging(): void {
    const device = this.requireDevice('DMA_LOGGING_STOP');
    const { errno } = device.featureCall('VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP', 'SET');
    if (errno)
      throw VfioError.fromErrno(featureLabel('VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP', 'SET'), 'device', errno, {
        state: this.current,
      });
    this.dmaLogging = false;
  }

  // ---- bookkeeping ----

  /** Record a spec violation (deduplicated by rule, op and state; `count` says how often). */
  record(a: AuditRecord): void {
    const key = `${a.rule}|${a.op}|${a.state}|${a.kernel}`;
    const seen = this.auditSeen.get(key);
    if (seen) {
      seen.count++;
      return;
    }
    const entry = { ...a, count: 1 };
    this.auditSeen.set(key, entry);
    this.report.audit.push(entry);
  }

  private noteRefused(op: string, rule: string, message: string): void {
    const last = this.report.refused[this.report.refused.length - 1];
    if (last && last.op === op && last.state === this.current) return;
    this.report.refused.push({ op, state: this.current, rule, message });
  }

  /** Close the data fd if one is open. */
  closeDataFd(): void {
    if (this.fd < 0) return;
    close(this.fd);
    this.fd = -1;
    this.fdDirection = null;
    this.report.dataFdsClosed++;
  }

  /** End the session: stop DMA logging if we started it and close the data fd. The device stays open. */
  close(): SessionReport {
    if (this.dmaLogging) {
      try {
        this.stopDmaLogging();
      } catch {
        /* the session is ending anyway */
      }
    }
    this.closeDataFd();
    return this.report;
  }
}

/** One frozen result per errno, so a failing query (a hot loop on a device without it) allocates nothing. */
const errnoResults = new Map<number, PrecopyQuery>();
function errnoQuery(errno: number): PrecopyQuery {
  let r = errnoResults.get(errno);
  if (!r)
    errnoResults.set(errno, (r = Object.freeze({ ok: false, reason: 'errno', errno, errnoName: errnoName(errno) })));
  return r;
}

/** What each arc along `states` (first = where we are) does to the data fd. */
function arcEffects(caps: CapsKey, states: StateName[]): FdEffect[] {
  const out: FdEffect[] = [];
  for (let i = 1; i < states.length; i++) out.push(arcFor(caps, states[i - 1]!, states[i]!)?.fd ?? 'none');
  return out;
}
