/** What a check finds, and the per-rule results of a run. */

/** One way the device differed from the spec, with the calls that showed it. */
export interface Mismatch {
  what: string;
  expected: string;
  observed: string;
  calls: string[];
  /** `should`: the text only recommends what was expected, so this mismatch alone warns. */
  strength?: 'should';
}

export type RawStatus = 'pass' | 'fail' | 'skip' | 'no-check';

/**
 * After known failures are applied: `warn` is a failed `should` rule, or an estimate outside its stated
 * tolerance; `expected-fail` a failure the
 * known-failure list announced; `stale` an announced failure that passed.
 */
export type Status = 'pass' | 'fail' | 'warn' | 'expected-fail' | 'stale' | 'skip' | 'no-check';

export interface RuleResult {
  rule: string;
  kind: string;
  strength: 'must' | 'should' | 'estimate';
  since: string;
  doc?: string;
  status: Status;
  /** Why it was skipped, why it is expected to fail, or why there is no check. */
  why?: string;
  mismatches: Mismatch[];
  /** Things worth knowing that are not violations. */
  notes: string[];
  /** How many calls the check made. */
  calls: number;
  ms: number;
}

export interface Summary {
  total: number;
  pass: number;
  fail: number;
  warn: number;
  expectedFail: number;
  stale: number;
  skip: number;
  noCheck: number;
}

export interface Report {
  device: string;
  spec: string;
  /** The kernel that answered (a real device): `7.3.4 (7.3.4+deb13-amd64)`. */
  kernel?: string;
  capabilities: string | null;
  knownFailures: string | null;
  results: RuleResult[];
  summary: Summary;
  ms: number;
}

/** Thrown by a check that cannot apply to this device. */
export class Skip extends Error {
  constructor(readonly why: string) {
    super(why);
  }
}

export function summarize(results: RuleResult[]): Summary {
  const count = (s: Status) => results.filter((r) => r.status === s).length;
  return {
    total: results.length,
    pass: count('pass'),
    fail: count('fail'),
    warn: count('warn'),
    expectedFail: count('expected-fail'),
    stale: count('stale'),
    skip: count('skip'),
    noCheck: count('no-check'),
  };
}

/** Exit status of a run: 1 when something failed that nobody expected, or a known failure went stale. */
export function exitCodeOf(report: Report): number {
  return report.summary.fail > 0 || report.summary.stale > 0 ? 1 : 0;
}
