import type { HeaderCheckReport } from './check.js';

/** Group names by their prefix (all but the last `_` word) for a compact listing. */
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

const span = (m: { from: string; until?: string }) => (m.until ? `${m.from} until ${m.until}` : `from ${m.from}`);

/** The human report of `header-check`. */
export function formatReport(r: HeaderCheckReport, opts: { verbose: boolean }): string {
  const out: string[] = [];
  const where = r.include ?? 'system headers';
  const dated =
    r.datedBy === 'LINUX_VERSION_CODE'
      ? `LINUX_VERSION_CODE ${r.headerVersion}`
      : 'no LINUX_VERSION_CODE: dated by witness macros';
  out.push(`header-check: ${where} (${dated}; ${r.abi === 'i386' ? 'i386, -m32' : 'LP64'})`);
  out.push(
    `  ${r.counts.verified} verified, ${r.counts.absent} absent (newer than the header), ${r.counts.retired} retired (older names), ${r.counts.mismatched} mismatched; ${r.counts.unknown} header items unknown to the spec (${r.outOfScope} out of scope)`,
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
  if (r.retired.length) {
    out.push('', `retired — names this header no longer has (${r.retired.length}):`);
    for (const a of r.retired) out.push(`  ${a.item} (gone in ${a.until})`);
  }
  if (r.collisions.length) {
    out.push('', `names with more than one meaning over time (${r.collisions.length}; never used to date a header):`);
    for (const c of r.collisions) {
      const meanings = c.meanings
        .map((m) => `${m.value} ${span(m)}${m.now !== c.name ? ` (now ${m.now})` : ''}`)
        .join('; ');
      const here = c.inHeader
        ? `this header: ${c.inHeader.value} (${span(c.inHeader)}), ${c.status}`
        : 'this header has none of them';
      out.push(`  ${c.name}: ${meanings} — ${here}`);
    }
  }
  if (opts.verbose) {
    out.push('', 'verified:');
    for (const c of r.checks) if (c.status === 'verified') out.push(`  ✓ ${c.id} = ${c.actual}`);
  }
  if (r.unknown.length) {
    out.push(
      '',
      `unknown — header items neither in the spec nor in its out-of-scope list (${r.unknown.length}; --diff for values, layouts and snippets):`,
    );
    for (const kind of ['macro', 'enumerator', 'struct'] as const) {
      const names = r.unknown.filter((u) => u.kind === kind).map((u) => u.name);
      if (!names.length) continue;
      out.push(`  ${kind}s:`);
      for (const [prefix, group] of groupByPrefix(names)) {
        out.push(
          group.length > 1
            ? `    ${prefix}* (${group.length}): ${group.map((n) => n.slice(prefix.length)).join(' ')}`
            : `    ${group[0]}`,
        );
      }
    }
  }
  out.push('', r.counts.mismatched ? `FAIL: ${r.counts.mismatched} mismatch(es)` : 'OK: no mismatches');
  return out.join('\n');
}
