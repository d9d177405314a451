/**
 * Quirk switches: each one makes the model break one rule of the uAPI on purpose, so the runtime's guards and
 * the conformance suite can be tested against a device that misbehaves in a known way.
 */
import type { QuirkName } from './api.js';

/** The spec rule each quirk breaks (rule ids from generated/ir.json), for reports and tests. */
export const QUIRK_BREAKS: Readonly<Record<QuirkName, string>> = {
  'enomsg-in-stop-copy': 'stream.eof',
  'precopy-info-in-stop-copy': 'precopy.valid_states',
  'dirty-bytes-always-zero': 'precopy.accounting',
  'no-precopy-info': 'precopy.mandatory',
  'wrong-argsz-writeback': 'struct.argsz',
  'interior-fd': 'mig.state.set.fd',
  'transition-eio': 'mig.state.error_reset',
  // Short reads are legal for a stream; the quirk exercises readers that assume full reads (stream.resume
  // says chunking need not match, so a reader that relies on it breaks there).
  'short-reads': 'stream.resume',
  'resume-rejects': 'stream.resume',
};

/** Largest read the short-reads quirk answers; odd so chunks never line up with records. */
export const SHORT_READ_BYTES = 4093;

export class Quirks {
  private readonly active: ReadonlySet<QuirkName>;
  /** The arc transition-eio fails, as `FROM->TO`. */
  readonly failingArc: string;

  constructor(quirks: readonly QuirkName[], quirkArc: string | undefined, defaultArc: string) {
    this.active = new Set(quirks);
    this.failingArc = quirkArc ?? defaultArc;
  }

  has(quirk: QuirkName): boolean {
    return this.active.has(quirk);
  }

  list(): QuirkName[] {
    return [...this.active];
  }
}
