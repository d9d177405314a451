/** The human-readable report: one line per rule, details under failures, and a summary. */
import type { Report, RuleResult, Status } from './verdict.js';

const MARK: Record<Status, string> = {
  pass: 'PASS ',
  fail: 'FAIL ',
  warn: 'WARN ',
  'expected-fail': 'XFAIL',
  stale: 'STALE',
  skip: 'SKIP ',
  'no-check': 'NONE ',
};

/** One line for a rule, plus details when it did not pass. */
export function formatResult(r: RuleResult, verbose = false): string {
  const lines = [
    `${MARK[r.status]} ${r.rule}${r.strength === 'must' ? '' : ` (${r.strength})`}${r.why ? ` — ${r.why}` : ''}`,
  ];
  const detailed = r.status === 'fail' || r.status === 'warn' || (verbose && r.status === 'expected-fail');
  if (detailed)
    for (const m of r.mismatches.slice(0, 6)) {
      lines.push(`      ${m.what}: expected ${m.expected}, observed ${m.observed}`);
      for (const c of m.calls.slice(-6)) lines.push(`        | ${c}`);
    }
  if (detailed && r.mismatches.length > 6) lines.push(`      … and ${r.mismatches.length - 6} more`);
  // An estimate's result is its measured accuracy: always shown.
  if (verbose || detailed || r.strength === 'estimate') for (const n of r.notes) lines.push(`      note: ${n}`);
  return lines.join('\n');
}

export function formatSummary(report: Report): string {
  const s = report.summary;
  const parts = [
    `${s.pass} pass`,
    `${s.fail} fail`,
    s.warn && `${s.warn} warn (should, or an estimate outside its stated tolerance)`,
    s.expectedFail && `${s.expectedFail} expected failure(s)`,
    s.stale && `${s.stale} stale known failure(s)`,
    `${s.skip} skipped`,
    s.noCheck && `${s.noCheck} without a check`,
  ].filter(Boolean);
  return `${s.total} rule${s.total === 1 ? '' : 's'}: ${parts.join(', ')} — ${(report.ms / 1000).toFixed(1)} s`;
}

export function formatHeader(report: Report): string {
  return [
    `conformance of ${report.device}`,
    `  judged by: ${report.spec}`,
    `  capabilities: ${report.capabilities ?? 'no migration'}`,
    `  known failures: ${report.knownFailures ?? 'none'}`,
  ].join('\n');
}
