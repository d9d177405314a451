/**
 * When to stop pre-copying: after the initial data is out and the dirty data is small or no longer
 * shrinking, or after a round limit. Every decision carries its reason, for the log and the report.
 */
import type { PrecopyInfo } from '../migration/session.js';

export interface PrecopyPolicyOptions {
  /** Stop after this many rounds whatever the device says. Default 8. */
  maxRounds?: number;
  /** Stop once dirty_bytes is at or below this (and initial_bytes is 0). Default 1 MiB. */
  dirtyThreshold?: number;
}

export interface PrecopyDecision {
  round: number;
  stop: boolean;
  reason: string;
  initialBytes: number | null;
  dirtyBytes: number | null;
}

export class PrecopyPolicy {
  readonly maxRounds: number;
  readonly dirtyThreshold: number;
  private previousDirty: number | null = null;

  constructor(opts: PrecopyPolicyOptions = {}) {
    this.maxRounds = opts.maxRounds ?? 8;
    this.dirtyThreshold = opts.dirtyThreshold ?? 1 << 20;
  }

  /** Decide after `round` rounds, given what PRECOPY_INFO says now (null if the device gave nothing). */
  decide(round: number, info: PrecopyInfo | null): PrecopyDecision {
    const initial = info ? Number(info.initialBytes) : null;
    const dirty = info ? Number(info.dirtyBytes) : null;
    const d = (stop: boolean, reason: string): PrecopyDecision => ({
      round,
      stop,
      reason,
      initialBytes: initial,
      dirtyBytes: dirty,
    });
    if (!info) return d(true, 'the device gives no PRECOPY_INFO, so one round is all that can be judged');
    if (info.reinit) {
      this.previousDirty = null;
      if (round < this.maxRounds) return d(false, 'the device re-initialised its initial data (REINIT)');
    }
    if (round >= this.maxRounds) return d(true, `round limit ${this.maxRounds} reached`);
    if (initial! > 0) return d(false, `initial data still pending (${initial} bytes)`);
    if (dirty! <= this.dirtyThreshold)
      return d(true, `initial data sent and dirty data ${dirty} ≤ threshold ${this.dirtyThreshold}`);
    const prev = this.previousDirty;
    this.previousDirty = dirty;
    if (prev !== null && dirty! >= prev) return d(true, `dirty data not shrinking (${dirty} ≥ ${prev})`);
    return d(false, `dirty data ${dirty} above threshold and shrinking`);
  }
}
