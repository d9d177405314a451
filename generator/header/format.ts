import type { HeaderCheckReport } from './check.js';

/** Group drift macro names by their prefix (all but the last `_` word) for a compact listing. */
function groupByPrefix(names: string[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const n of names) {
    const i = n.lastIndexOf('_');
    const prefix = i > 0 ? n.slice(0, i + 1) : n;
    if (!groups.has(prefix)) groups.set(prefix, []);
    groups.get(prefix)!.push(n);
  }
  return groups;
}

/** The human report of `header-check`. */
export function formatReport(r: HeaderCheckReport, opts: { verbose: boolean }): string {
  const out: string[] = [];
  const where = r.include ?? 'system headers';
  out.push(`header-check: ${where}${r.headerVersion ? ` (LINUX_VERSION_CODE ${r.headerVersion})` : ''}`);
  out.push(
    `  ${r.counts.verified} verified, ${r.counts.absent} absent (newer than the header), ${r.counts.mismatched} mismatched; ${r.counts.drift} header macros unknown to the spec`,
  );
  if (r.mismatches.length) {
    out.push('', `mismatched (${r.mismatches.length}):`);
    for (const m of r.mismatches) out.push(`  ✗ ${m.id} (since ${m.since}): ${m.detail ?? ''}`);
  }
  if (r.absent.length) {
    out.push('', `absent — newer than this header (${r.absent.length} items):`);
    const bySince = new Map<string, string[]>();
    for (const a of r.absent) {
      if (!bySince.has(a.since)) bySince.set(a.since, []);
      bySince.get(a.since)!.push(a.item);
    }
    for (const [since, items] of bySince) out.push(`  ${since}: ${items.join(', ')}`);
  }
  if (opts.verbose) {
    out.push('', 'verified:');
    for (const c of r.checks) if (c.status === 'verified') out.push(`  ✓ ${c.id} = ${c.actual}`);
  }
  if (r.drift.length) {
    out.push(
      '',
      `drift — macros in the header the spec does not know (${r.drift.length}; --diff for values and snippets):`,
    );
    for (const [prefix, names] of groupByPrefix(r.drift.map((d) => d.name))) {
      out.push(
        names.length > 1
          ? `  ${prefix}* (${names.length}): ${names.map((n) => n.slice(prefix.length)).join(' ')}`
          : `  ${names[0]}`,
      );
    }
  }
  out.push('', r.counts.mismatched ? `FAIL: ${r.counts.mismatched} mismatch(es)` : 'OK: no mismatches');
  return out.join('\n');
}
