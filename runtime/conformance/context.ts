/**
 * What a check works with: the raw device, the spec it is judged by, the device's capability set, and
 * helpers to reach a state along the spec's own path and to record what differed.
 */
import { VfioMigrationFlags } from '../../generated/constants.js';
import type { KernelRelease } from '../kernel-release.js';
import type { RawDevice, CallResult } from './raw-device.js';
import { arcOf, stateExists, type SpecData, type SpecRule } from './spec-data.js';
import { Skip, type Mismatch } from './verdict.js';

export interface SuiteOptions {
  /** Issue requests the spec forbids (kernels before 7.2 / 6.12.96 spin forever on STOP_COPY→PRE_COPY*). */
  withForbidden: boolean;
  /** How long a forbidden request may take before it counts as hung. */
  forbiddenTimeoutMs: number;
  /** Is the device emulated in this process (forbidden requests then go through a worker thread)? */
  emulated: boolean;
  /**
   * The kernel release that answers for a real device: what it is expected to do where releases differ (the
   * blocked request, features newer than it) comes from the spec's version data. Null judges by the spec alone.
   */
  kernel?: KernelRelease | null;
}

/** What the suite learns about the device once, before the checks run. */
export interface DeviceFacts {
  migrationFlags: number | null;
  /** Capability set key, or null when the flags are not a set the spec defines. */
  caps: string | null;
  /** PROBE|SET DMA_LOGGING_START answered 0. */
  dmaLogging: boolean;
}

/** Live data fd after reaching a state, and which direction it runs. */
export interface Reached {
  fd: number;
  kind: 'saving' | 'resuming' | null;
}

export class SetupFailure extends Error {}

export class CheckContext {
  readonly mismatches: Mismatch[] = [];
  readonly notes: string[] = [];
  private readonly logStart: number;

  constructor(
    readonly raw: RawDevice,
    readonly spec: SpecData,
    readonly rule: SpecRule,
    readonly facts: DeviceFacts,
    readonly options: SuiteOptions,
  ) {
    this.logStart = raw.log.length;
  }

  /** Calls made since this check started. */
  calls(): string[] {
    return this.raw.log.slice(this.logStart);
  }

  /** The capability set, or a skip when the device has none the spec defines. */
  get caps(): string {
    if (!this.facts.caps) throw new Skip('the device reports no migration capability set the spec defines');
    return this.facts.caps;
  }

  has(cap: keyof typeof VfioMigrationFlags): boolean {
    return ((this.facts.migrationFlags ?? 0) & VfioMigrationFlags[cap]) !== 0;
  }

  /** States this device has, in value order (ERROR excluded). */
  states(): string[] {
    return this.spec.fsm.states.filter((s) => stateExists(this.spec.fsm, this.caps, s));
  }

  skip(why: string): never {
    throw new Skip(why);
  }

  note(text: string): void {
    if (!this.notes.includes(text)) this.notes.push(text);
  }

  fail(what: string, expected: string, observed: string, strength?: 'should'): void {
    const calls = this.calls();
    this.mismatches.push({ what, expected, observed, calls: calls.slice(-24), ...(strength ? { strength } : {}) });
  }

  /** Record a mismatch unless observed equals expected; returns whether they matched. */
  expect(what: string, expected: string, observed: string, strength?: 'should'): boolean {
    if (expected === observed) return true;
    this.fail(what, expected, observed, strength);
    return false;
  }

  /** Expect a call to succeed (`success`) or to fail with the named errno. */
  expectOutcome(what: string, expected: string, r: CallResult): boolean {
    return this.expect(what, expected, r.ok ? 'success' : r.errno);
  }

  /**
   * Reset the device, then step from the initial state to `state` one SET per step of the spec's path,
   * checking each step; returns the data fd the last fd-opening step returned.
   */
  reach(state: string): Reached {
    const fsm = this.spec.fsm;
    this.raw.closeDataFds();
    const reset = this.raw.reset();
    if (!reset.ok) throw new SetupFailure(`VFIO_DEVICE_RESET failed with ${reset.errno}`);
    const path = fsm.paths[this.caps]?.[fsm.initial]?.[state];
    if (path === null || path === undefined) throw new Skip(`${state} cannot be reached on a ${this.caps} device`);
    let live: Reached = { fd: -1, kind: null };
    let at = fsm.initial;
    for (const step of path) {
      const r = this.raw.setState(step);
      if (!r.result.ok)
        throw new SetupFailure(`could not reach ${state}: SET ${step} from ${at} gave ${r.result.errno}`);
      const arc = arcOf(fsm, this.caps, at, step);
      if (arc?.fd === 'ends' && live.fd >= 0) {
        this.raw.closeDataFd(live.fd);
        live = { fd: -1, kind: null };
      }
      if (r.dataFd >= 0) {
        if (live.fd >= 0) this.raw.closeDataFd(live.fd);
        live = { fd: r.dataFd, kind: arc?.fd === 'opens-resuming' ? 'resuming' : 'saving' };
      }
      at = step;
    }
    return live;
  }

  /**
   * Reset the device and, when it migrates, check it starts in the spec's initial state; for the checks that
   * also apply to a device without migration (feature headers, PROBE).
   */
  resetToStart(): void {
    if (this.facts.caps) {
      this.reach(this.spec.fsm.initial);
      return;
    }
    this.raw.closeDataFds();
    const reset = this.raw.reset();
    if (!reset.ok) throw new SetupFailure(`VFIO_DEVICE_RESET failed with ${reset.errno}`);
  }

  /** Reach a state that must come with a data fd; a missing fd is a setup failure. */
  reachWithFd(state: string): Reached & { fd: number } {
    const r = this.reach(state);
    if (r.fd < 0) throw new SetupFailure(`reached ${state} but no data fd was handed out on the way`);
    return r;
  }

  /** Write a whole stream in deliberately uneven chunks (the destination must not care how it is cut). */
  writeStream(fd: number, data: Buffer): { ok: boolean; errno?: string; at: number } {
    const sizes = [7, 4093, 65536];
    let at = 0;
    for (let i = 0; at < data.length; i++) {
      const r = this.raw.write(fd, data.subarray(at, at + sizes[i % sizes.length]!));
      if (!r.ok) {
        if (r.errno === 'EINTR' || r.errno === 'EAGAIN') continue;
        return { ok: false, errno: r.errno, at };
      }
      at += r.ret;
    }
    return { ok: true, at };
  }

  /**
   * Like reach(), but a RESUMING device is also given `stream` (the source's own), so that leaving
   * RESUMING loads valid data: drivers may refuse to load an empty stream (real mtty does, with EINVAL).
   */
  reachLoaded(state: string, stream: Buffer): Reached {
    const r = this.reach(state);
    if (state === 'RESUMING' && r.fd >= 0) {
      const w = this.writeStream(r.fd, stream);
      if (!w.ok)
        throw new SetupFailure(`writing the source's own stream into RESUMING failed at byte ${w.at} with ${w.errno}`);
    }
    return r;
  }

  /** The source's stream when it can be had; an empty one (noted) when saving fails. */
  sourceStreamOrEmpty(): Buffer {
    try {
      return this.saveStream();
    } catch (e) {
      if (!(e instanceof SetupFailure)) throw e;
      this.note(`no source stream: ${e.message}`);
      return Buffer.alloc(0);
    }
  }

  /**
   * Read a data fd until it reports an end: `EOF` (read() == 0), an errno name (ENOMSG…), or `limit`.
   * Returns the bytes read.
   */
  readToEnd(fd: number, chunk = 1 << 20, limit = 1 << 30): { data: Buffer; end: string } {
    const buf = Buffer.alloc(chunk);
    const parts: Buffer[] = [];
    let total = 0;
    for (;;) {
      const r = this.raw.read(fd, buf, Math.min(chunk, limit - total || 1));
      if (!r.ok) {
        if (r.errno === 'EINTR' || r.errno === 'EAGAIN') continue;
        return { data: Buffer.concat(parts), end: r.errno };
      }
      if (r.ret === 0) return { data: Buffer.concat(parts), end: 'EOF' };
      parts.push(Buffer.from(buf.subarray(0, r.ret)));
      total += r.ret;
      if (total >= limit) return { data: Buffer.concat(parts), end: 'limit' };
    }
  }

  /** The source's full stream: PRE_COPY data (if any) and STOP_COPY data, read the way QEMU does. */
  saveStream(): Buffer {
    const parts: Buffer[] = [];
    if (this.has('PRE_COPY')) {
      const { fd } = this.reachWithFd('PRE_COPY');
      const pre = this.readToEnd(fd);
      parts.push(pre.data);
      const path = this.spec.fsm.paths[this.caps]!['PRE_COPY']!['STOP_COPY']!;
      for (const step of path) {
        const r = this.raw.setState(step);
        if (!r.result.ok) throw new SetupFailure(`SET ${step} on the way to STOP_COPY gave ${r.result.errno}`);
      }
      parts.push(this.readToEnd(fd).data);
      this.raw.closeDataFd(fd);
    } else {
      const { fd } = this.reachWithFd('STOP_COPY');
      parts.push(this.readToEnd(fd).data);
      this.raw.closeDataFd(fd);
    }
    return Buffer.concat(parts);
  }
}
