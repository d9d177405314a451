/**
 * The report as KTAP version 1 (Documentation/dev-tools/ktap.rst), the format kernel CI reads from kselftests:
 * a version line, the plan, one result line per rule in the spec's order, diagnostics as `#` lines before the
 * result they explain, and kselftest's closing `# Totals:` line.
 *
 *   PASS  → ok N rule                     XFAIL → ok N rule # XFAIL why (a listed known failure)
 *   FAIL  → not ok N rule, mismatches     STALE → not ok N rule, counted as xpass (listed, yet passed)
 *   WARN  → ok N rule, `# WARN` lines     SKIP / NONE → ok N rule # SKIP why
 */
import type { Report, RuleResult } from './verdict.js';

/** Text that must stay on one line and may not contain `#` (it would start a directive). */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').replace(/#/g, 'no.').trim();
}

function diagnostics(r: RuleResult, prefix: string): string[] {
  const lines: string[] = [];
  for (const m of r.mismatches.slice(0, 6))
    lines.push(
      `# ${prefix}${r.rule}: ${oneLine(m.what)}: expected ${oneLine(m.expected)}, observed ${oneLine(m.observed)}`,
    );
  if (r.mismatches.length > 6) lines.push(`# ${prefix}${r.rule}: … and ${r.mismatches.length - 6} more`);
  return lines;
}

function resultLines(r: RuleResult, n: number): string[] {
  const name = oneLine(r.rule);
  const why = r.why ? oneLine(r.why) : '';
  switch (r.status) {
    case 'pass':
      return [`ok ${n} ${name}`];
    case 'warn':
      return [...diagnostics(r, 'WARN (should) '), `ok ${n} ${name}`];
    case 'expected-fail':
      return [...diagnostics(r, ''), `ok ${n} ${name} # XFAIL ${why}`.trimEnd()];
    case 'skip':
      return [`ok ${n} ${name} # SKIP ${why}`.trimEnd()];
    case 'no-check':
      return [`ok ${n} ${name} # SKIP ${why || 'no check for this rule yet'}`];
    case 'stale':
      return [`# ${name}: ${why || 'listed as a known failure but passed'}`, `not ok ${n} ${name}`];
    case 'fail':
      return [...diagnostics(r, ''), `not ok ${n} ${name}`];
  }
}

/** The whole report in KTAP; `header` lines (device, spec, kernel, …) become diagnostics after the plan. */
export function formatKtap(report: Report, header: string[] = []): string {
  const lines = ['KTAP version 1', `1..${report.results.length}`];
  lines.push(`# vfio-uapi conform ${oneLine(report.device)}`);
  lines.push(`# judged by ${oneLine(report.spec)}; capabilities ${report.capabilities ?? 'no migration'}`);
  if (report.knownFailures) lines.push(`# known failures: ${oneLine(report.knownFailures)}`);
  for (const h of header) lines.push(`# ${oneLine(h)}`);
  report.results.forEach((r, i) => lines.push(...resultLines(r, i + 1)));
  const s = report.summary;
  // kselftest's closing line (tools/testing/selftests/kselftest.h, ksft_print_cnts).
  lines.push(
    `# Totals: pass:${s.pass + s.warn} fail:${s.fail} xfail:${s.expectedFail} xpass:${s.stale} ` +
      `skip:${s.skip + s.noCheck} error:0`,
  );
  return lines.join('\n');
}
