/**
 * A migration session: owns the data fd, tracks the device's migration state, moves along the path the
 * spec derives, guards every call with the generated rules, and recovers like QEMU when a SET fails.
 *
 * Guards: `strict` refuses before the syscall what the rules forbid (naming the rule) — so the runtime can
 * never issue STOP_COPY→PRE_COPY, which spins forever in real 6.12 kernels; `audit` issues the call and
 * records in the report what the kernel did against what the spec says.
 */
import {
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
import { addressOf, close, errnoName } from '../sys/index.js';
import { emptyReport, type AuditRecord, type SessionReport } from './report.js';

export type SessionMode = 'stepwise' | 'direct';
export type GuardMode = 'strict' | 'audit';

export interface SessionOptions {
  /** `stepwise`: one SET per arc, each verified with GET. `direct`: one SET of the target, as QEMU does. */
  mode?: SessionMode;
  guard?: GuardMode;
  /** State to return to after a failed SET before falling back to VFIO_DEVICE_RESET; null: reset at once. */
  recoveryState?: StateName | null;
  /** Opt in to PRECOPY_INFOv2 (REINIT reporting) when the device has PRE_COPY. Default true; ENOTTY is fine. */
  precopyInfoV2?: boolean;
}

export interface PrecopyInfo {
  initialBytes: bigint;
  dirtyBytes: bigint;
  /** The device restarted its initial data (v2 opt-in only). */
  reinit: boolean;
}

const ENOTTY = 25;
const PRECOPY_OP = 'VFIO_MIG_GET_PRECOPY_INFO';
const PRECOPY_REQUEST = IOCTLS.VFIO_MIG_GET_PRECOPY_INFO.generic;

export class MigrationSession {
  private current: StateName;
  private fd = -1;
  private fdDirection: 'saving' | 'resuming' | null = null;
  readonly report: SessionReport;
  readonly mode: SessionMode;
  readonly guard: GuardMode;
  /** True once the v2 opt-in succeeded: PRECOPY_INFO flags are then meaningful. */
  precopyV2 = false;
  private readonly recoveryState: StateName | null;
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

  private constructor(
    readonly device: Device | null,
    readonly capsKey: CapsKey,
    state: StateName,
    opts: SessionOptions,
  ) {
    this.current = state;
    this.mode = opts.mode ?? 'stepwise';
    this.guard = opts.guard ?? 'strict';
    this.recoveryState = opts.recoveryState === undefined ? 'RUNNING' : opts.recoveryState;
    this.report = emptyReport(this.mode, this.guard, capsKey);
    encodeVfioPrecopyInfo(this.piRequest, new DataView(this.piBuf.buffer, 0, 24), 0);
  }

  /** Start a session on an open device: reads its capabilities and state; opts in to PRECOPY_INFOv2. */
  static open(device: Device, opts: SessionOptions = {}): MigrationSession {
    const caps = device.requireMigration();
    const s = new MigrationSession(device, caps.capsKey as CapsKey, device.state(), opts);
    if (caps.preCopy && opts.precopyInfoV2 !== false) s.precopyV2 = s.enablePrecopyInfoV2();
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
      this.fail(op, 5);
    }
    this.current = target;
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
    const g = device.getStateRaw();
    this.current = g.ok ? g.state : this.current;
    if (!r.ok) this.fail(op, r.errno);
  }

  /**
   * A SET failed: do what QEMU does. Close the data fd (the stream cannot continue), GET the state, try the
   * recovery state, and if that is impossible or fails, VFIO_DEVICE_RESET (which means RUNNING). Throws.
   */
  private fail(op: string, errno: number): never {
    const failedIn = this.current;
    this.closeDataFd();
    const rec = this.recover(`${op}: ${errnoName(errno)}`);
    throw VfioError.fromErrno(op, 'device', errno, {
      state: failedIn,
      hint: `recovered by ${rec.action}${rec.finalState ? `; the device is now in ${rec.finalState}` : ''}`,
      rule: 'mig.state.error_reset',
    });
  }

  /** Bring the device back to the recovery state (or RUNNING via reset). Safe to call after any failure. */
  recover(after = 'abort') {
    const device = this.requireDevice('recover');
    this.closeDataFd();
    const g = device.getStateRaw();
    const observed = g.ok ? g.state : null;
    let action: 'none' | 'recovery-state' | 'reset' = 'none';
    let finalState: StateName | null = observed;
    let ok = false;
    const target = this.recoveryState;
    if (observed && observed !== 'ERROR' && target && observed === target) ok = true;
    else if (observed && observed !== 'ERROR' && target && checkRequest(this.capsKey, observed, target).ok) {
      action = 'recovery-state';
      const r = device.setStateRaw(target);
      if (r.ok && r.dataFd >= 0) close(r.dataFd);
      const after2 = device.getStateRaw();
      ok = r.ok && after2.ok && after2.state === target;
      finalState = after2.ok ? after2.state : null;
    }
    if (!ok) {
      action = 'reset';
      const r = vfio.VFIO_DEVICE_RESET(device.fd);
      const after3 = device.getStateRaw();
      finalState = after3.ok ? after3.state : r.ok ? 'RUNNING' : null;
      ok = r.ok;
    }
    if (finalState) this.current = finalState;
    const record = { after, observed, action, finalState, ok };
    this.report.recoveries.push(record);
    return record;
  }

  // ---- queries ----

  /** VFIO_MIG_GET_PRECOPY_INFO, guarded; throws on failure. */
  precopyInfo(): PrecopyInfo {
    const r = this.queryPrecopyInfo();
    if (typeof r === 'number') {
      if (r === -1)
        throw new VfioError(
          isAllowed(PRECOPY_OP, 'migration_data', this.current).allowed
            ? `${PRECOPY_OP} needs an open saving data fd`
            : (isAllowed(PRECOPY_OP, 'migration_data', this.current) as { message: string }).message,
          {
            kind: 'refused',
            op: PRECOPY_OP,
            fdKind: 'migration_data',
            state: this.current,
            rule: 'precopy.valid_states',
          },
        );
      throw VfioError.fromErrno(PRECOPY_OP, 'migration_data', r, {
        state: this.current,
        rule: r === ENOTTY ? 'precopy.mandatory' : undefined,
      });
    }
    return r;
  }

  /**
   * VFIO_MIG_GET_PRECOPY_INFO without exceptions: the info, the errno, or -1 when the guard refused (strict)
   * or there is no data fd. The hot path: one reused buffer, generated encode/decode, one ioctl.
   */
  queryPrecopyInfo(): PrecopyInfo | number {
    // The hot path: one state comparison, one koffi call, two u64 loads. Everything unusual is out of line.
    if (this.precopyGuardState !== this.current) this.evaluatePrecopyGuard();
    if (!this.precopyAllowed) return this.precopyInfoAgainstGuard();
    const fd = this.fd;
    if (fd < 0) return -1;
    ioctlCount.issued++;
    if (ioctlDirect(fd, PRECOPY_REQUEST, this.piBuf) < 0) return threadErrno[0]!;
    const words = this.piWords;
    if (words[0] !== 24 || words[1] !== 0) return this.precopyInfoWithHeaderWritten();
    const counts = this.piCounts;
    return { initialBytes: counts[0]!, dirtyBytes: counts[1]!, reinit: false };
  }

  /** The generated guard, evaluated once per state (states change rarely; the query may be hot). */
  private evaluatePrecopyGuard(): void {
    this.precopyGuard = isAllowed(PRECOPY_OP, 'migration_data', this.current);
    this.precopyGuardState = this.current;
    this.precopyAllowed = this.precopyGuard.allowed;
  }

  /** The rules forbid PRECOPY_INFO here: strict refuses (-1); audit issues it and records what happened. */
  private precopyInfoAgainstGuard(): PrecopyInfo | number {
    const guard = this.precopyGuard;
    if (guard.allowed) return -1;
    if (this.guard === 'strict') {
      this.noteRefused(PRECOPY_OP, guard.rule, guard.message);
      return -1;
    }
    if (this.fd < 0) return -1;
    const r = vfio.VFIO_MIG_GET_PRECOPY_INFO(this.fd, this.piBuf);
    this.record({
      rule: guard.rule,
      op: PRECOPY_OP,
      state: this.current,
      spec: guard.errno,
      kernel: r.ok ? 'answered' : errnoName(r.errno),
    });
    if (!r.ok) return r.errno;
    const words = this.piWords;
    if (words[0] !== 24 || words[1] !== 0) return this.precopyInfoWithHeaderWritten();
    return { initialBytes: this.piCounts[0]!, dirtyBytes: this.piCounts[1]!, reinit: false };
  }

  /** The device wrote argsz or flags: note REINIT (v2) or a bad argsz, and restore the request for next time. */
  private precopyInfoWithHeaderWritten(): PrecopyInfo {
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
    const info = { initialBytes: this.piCounts[0]!, dirtyBytes: this.piCounts[1]!, reinit };
    this.piWords[0] = 24;
    this.piWords[1] = 0;
    return info;
  }

  /** MIG_DATA_SIZE: the driver's estimate of the STOP_COPY volume (any state); null if not implemented. */
  dataSize(): bigint | null {
    return this.requireDevice('MIG_DATA_SIZE').dataSize();
  }

  /** SET MIG_PRECOPY_INFOv2 so PRECOPY_INFO may report REINIT. ENOTTY (pre-7.1 kernel) means "not available". */
  enablePrecopyInfoV2(): boolean {
    const device = this.requireDevice('MIG_PRECOPY_INFOv2');
    const { errno } = device.featureCall('VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2', 'SET');
    if (errno === 0) return (this.precopyV2 = true);
    if (errno === ENOTTY) return false;
    throw VfioError.fromErrno(featureLabel('VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2', 'SET'), 'device', errno, {
      state: this.current,
      rule: 'precopy.v2.needs_pre_copy',
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

/** What each arc along `states` (first = where we are) does to the data fd. */
function arcEffects(caps: CapsKey, states: StateName[]): FdEffect[] {
  const out: FdEffect[] = [];
  for (let i = 1; i < states.length; i++) out.push(arcFor(caps, states[i - 1]!, states[i]!)?.fd ?? 'none');
  return out;
}
