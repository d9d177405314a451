/**
 * `header-check`: compile the C layout probe (rendered from an IR) against a set of kernel headers,
 * run it, and classify every check as verified, absent (newer than the header) or mismatched; list
 * the VFIO/iommufd macros the header has and the spec does not (drift).
 */
import type { Ir } from '../ir/types.js';
import { renderProbe } from '../emit/c-probe/emit.js';
import { compareReleases, probeModel, type CheckKind, type ProbeCheck } from './checks.js';
import { compileAndRun, includeFlags, macrosOf } from './gcc.js';

export type Status = 'verified' | 'absent' | 'mismatch';

export interface CheckResult {
  id: string;
  kind: CheckKind;
  item: string;
  since: string;
  status: Status;
  actual?: number;
  expected?: number;
  /** Why it is a mismatch, in words. */
  detail?: string;
}

export interface DriftMacro {
  name: string;
  /** Replacement text as the preprocessor sees it. */
  definition: string;
}

export interface HeaderCheckReport {
  /** The include directory, or null for the system headers. */
  include: string | null;
  /** `LINUX_VERSION_CODE` of the headers as a.b.c, when known. */
  headerVersion: string | null;
  counts: { verified: number; absent: number; mismatched: number; drift: number };
  /** Absent items (one per spec item, not per check), oldest release first. */
  absent: { item: string; since: string }[];
  mismatches: CheckResult[];
  drift: DriftMacro[];
  checks: CheckResult[];
}

export interface HeaderCheckOptions {
  include?: string;
}

/** Names the spec knows as macros or enumerators. */
export function knownNames(ir: Ir): Set<string> {
  return new Set([...Object.keys(ir.constants), ...Object.keys(ir.ioctls)]);
}

/** The header's `VFIO_*` macros and iommufd ioctl macros that the spec does not name. */
export function driftOf(ir: Ir, macros: Map<string, { value: string; functionLike: boolean }>): DriftMacro[] {
  const known = knownNames(ir);
  const out: DriftMacro[] = [];
  for (const [name, m] of macros) {
    if (known.has(name)) continue;
    const vfio = name.startsWith('VFIO_');
    const iommuIoctl = /^IOMMU/.test(name) && /\b_IO\w*\s*\(\s*IOMMUFD_TYPE/.test(m.value);
    if (m.value.trim() === '' && name.endsWith('_H')) continue; // include guard
    if (vfio || iommuIoctl) out.push({ name, definition: m.value.trim() });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function headerVersionOf(macros: Map<string, { value: string }>): string | null {
  const v = macros.get('LINUX_VERSION_CODE')?.value;
  if (!v || !/^\d+$/.test(v.trim())) return null;
  const n = Number(v);
  return `${n >> 16}.${(n >> 8) & 0xff}.${n & 0xff}`;
}

const hex = (n: number) => (n < 0 ? String(n) : '0x' + n.toString(16));

function describe(c: ProbeCheck, actual: number, expected: number): string {
  const show = c.kind === 'ioctl' || c.kind === 'constant' ? hex : String;
  return `header has ${show(actual)}, spec says ${show(expected)}`;
}

/** Compile and run the probe for `ir` against the headers; never throws for a mismatch, only for a broken toolchain. */
export function headerCheck(ir: Ir, opts: HeaderCheckOptions = {}): HeaderCheckReport {
  const flags = includeFlags(opts.include);
  const macros = macrosOf(flags);
  const model = probeModel(ir);
  const byId = new Map(model.checks.map((c) => [c.id, c]));
  const run = compileAndRun(renderProbe(ir), flags, (text) => {
    const m = /^VU_(?:CHECK|EARLY)\("([^"]+)"/.exec(text);
    return m ? `VU_BROKEN("${m[1]}")` : null;
  });
  const brokenWhy = new Map<string, string>();
  for (const d of run.dropped) {
    const id = /^VU_(?:CHECK|EARLY)\("([^"]+)"/.exec(d.text)?.[1];
    if (id) brokenWhy.set(id, d.error);
  }
  const results = new Map<string, CheckResult>();
  for (const line of run.stdout.split('\n')) {
    if (!line) continue;
    const [tag, id = '', a, b] = line.split('\t');
    const c = byId.get(id);
    if (!c) throw new Error(`probe printed an unknown check: ${line}`);
    const base = { id, kind: c.kind, item: c.item, since: c.since };
    if (tag === 'V') results.set(id, { ...base, status: 'verified', actual: Number(a) });
    else if (tag === 'A') results.set(id, { ...base, status: 'absent' });
    else if (tag === 'M') {
      const actual = Number(a);
      const expected = Number(b);
      results.set(id, { ...base, status: 'mismatch', actual, expected, detail: describe(c, actual, expected) });
    } else if (tag === 'E') {
      results.set(id, {
        ...base,
        status: 'mismatch',
        actual: Number(a),
        detail: `defined, though the header predates the spec's since ${c.since}`,
      });
    } else if (tag === 'B') {
      results.set(id, {
        ...base,
        status: 'mismatch',
        detail: `missing from a header that has release ${c.since} (gcc: ${brokenWhy.get(id) ?? 'error'})`,
      });
    } else throw new Error(`probe printed an unexpected line: ${line}`);
  }
  const checks = model.checks.map(
    (c): CheckResult =>
      results.get(c.id) ?? {
        id: c.id,
        kind: c.kind,
        item: c.item,
        since: c.since,
        status: 'mismatch',
        detail: 'the probe printed nothing for this check',
      },
  );
  const absentItems = new Map<string, string>();
  for (const c of checks) if (c.status === 'absent' && !absentItems.has(c.item)) absentItems.set(c.item, c.since);
  // A struct that is absent stands for its fields.
  for (const item of [...absentItems.keys()]) {
    const dot = item.indexOf('.');
    if (dot > 0 && absentItems.has(item.slice(0, dot))) absentItems.delete(item);
  }
  const absent = [...absentItems]
    .map(([item, since]) => ({ item, since }))
    .sort((a, b) => compareReleases(a.since, b.since) || (a.item < b.item ? -1 : a.item > b.item ? 1 : 0));
  const mismatches = checks.filter((c) => c.status === 'mismatch');
  const drift = driftOf(ir, macros);
  return {
    include: opts.include ?? null,
    headerVersion: headerVersionOf(macros),
    counts: {
      verified: checks.filter((c) => c.status === 'verified').length,
      absent: checks.filter((c) => c.status === 'absent').length,
      mismatched: mismatches.length,
      drift: drift.length,
    },
    absent,
    mismatches,
    drift,
    checks,
  };
}
