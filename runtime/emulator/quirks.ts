/**
 * Quirk switches: each one makes the model break one rule of the uAPI on purpose, so the runtime's guards and
 * the conformance suite can be tested against a device that misbehaves in a known way.
 */
import type { QuirkName } from './api.js';

/**
 * What each quirk does to the uAPI: the rule it breaks (the rule the conformance suite fails for it, checked by
 * test/conformance/every-quirk-is-caught.test.ts), or why it breaks none.
 */
export type QuirkEffect = { breaks: string } | { legal: string };

export const QUIRK_BREAKS: Readonly<Record<QuirkName, QuirkEffect>> = {
  'enomsg-in-stop-copy': { breaks: 'stream.eof' },
  'precopy-info-in-stop-copy': { breaks: 'precopy.valid_states' },
  'dirty-bytes-always-zero': { breaks: 'precopy.temporary_end' },
  'no-precopy-info': { breaks: 'precopy.mandatory' },
  'wrong-argsz-writeback': { breaks: 'struct.argsz' },
  'interior-fd': { breaks: 'mig.state.set.fd' },
  // A valid request that fails is what set.fd sees; the ERROR it leaves is legal (mig.state.error_reset allows
  // it), and is what the runtime's recovery tests need.
  'transition-eio': { breaks: 'mig.state.set.fd' },
  'resume-rejects': { breaks: 'stream.resume' },
  'short-reads': {
    legal:
      'a data fd is a stream, and read() may return fewer bytes than asked; the quirk proves that readers ' +
      'reassemble the stream, and the conformance report notes it under stream.eof',
  },
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
