/**
 * `header-check`: compile the C layout probe (rendered from an IR) against a set of kernel headers,
 * run it, and classify every check as verified, absent (newer than the header) or mismatched; list
 * the VFIO/iommufd macros the header has and the spec does not (drift).
 */
import type { Ir } from '../ir/types.js';
import { renderProbe } from '../emit/c-probe/emit.js';
import { compareReleases } from '../../spec/dsl/release.js';
import { ambiguousNames, probeModel, type CheckKind, type ProbeCheck } from './checks.js';
import { compileAndRun, includeFlags, m32Problem, macrosOf } from './gcc.js';
import {
  headerInventory,
  preprocessedByFile,
  type HeaderItem,
  type HeaderItemKind,
  type InventoryFile,
} from './inventory.js';

export type Status = 'verified' | 'absent' | 'retired' | 'mismatch';

export interface CheckResult {
  id: string;
  kind: CheckKind;
  item: string;
  since: string;
  /** For names the header later dropped: the first release without them. */
  until?: string;
  status: Status;
  actual?: number;
  expected?: number;
  /** Why it is a mismatch, in words. */
  detail?: string;
}

/** An item of the header that is neither in the spec nor in its out-of-scope list. */
export interface UnknownItem {
  kind: HeaderItemKind;
  name: string;
  file: InventoryFile;
  /** Macros: replacement text as the preprocessor sees it; enumerators: the initialiser, if any. */
  definition?: string;
  functionLike?: boolean;
}

/** One name with more than one meaning over time, and which of them this header has. */
export interface Collision {
  name: string;
  meanings: { value: number; from: string; until?: string; now: string }[];
  /** The meaning whose releases contain the header's (by its dating), or null when none does. */
  inHeader: { value: number; from: string; until?: string; now: string } | null;
  /** What the check of that meaning found. */
  status: Status | null;
}

export interface HeaderCheckReport {
  /** The include directory, or null for the system headers. */
  include: string | null;
  /** The ABI the probe was compiled for: LP64 (x86_64) or i386 (-m32). */
  abi: Abi;
  /** `LINUX_VERSION_CODE` of the headers as a.b.c, when known. */
  headerVersion: string | null;
  /** How the probe dated the header: its LINUX_VERSION_CODE, or witness macros when there is none. */
  datedBy: 'LINUX_VERSION_CODE' | 'witness macros';
  counts: { verified: number; absent: number; retired: number; mismatched: number; unknown: number };
  /** Absent items (one per spec item, not per check), oldest release first. */
  absent: { item: string; since: string }[];
  /** Names the header no longer has (renamed or removed before its release). */
  retired: { item: string; until: string }[];
  /** Names with more than one meaning over time. */
  collisions: Collision[];
  mismatches: CheckResult[];
  /** Header items neither in the spec nor in its out-of-scope list. */
  unknown: UnknownItem[];
  /** How many header items the out-of-scope list accounts for. */
  outOfScope: number;
  checks: CheckResult[];
}

export type Abi = 'lp64' | 'i386';

export interface HeaderCheckOptions {
  include?: string;
  /** `i386` compiles the probe with -m32 (needs gcc-multilib on Debian). Default `lp64`. */
  abi?: Abi;
}

/** gcc flags for the headers and the ABI; for i386, first makes sure gcc can build and run -m32 programs. */
export function headerFlags(opts: HeaderCheckOptions): string[] {
  if (opts.abi === 'i386') {
    const why = m32Problem();
    if (why) throw new HeaderToolError(`header-check --abi i386: ${why}`);
  }
  return [...(opts.abi === 'i386' ? ['-m32'] : []), ...includeFlags(opts.include, opts.abi)];
}

/** The toolchain cannot do what was asked; the message says what to install or change. */
export class HeaderToolError extends Error {}

/** Names the spec describes: constants, ioctls, structs, and earlier names of its values. */
export function knownNames(ir: Ir): Set<string> {
  return new Set([
    ...Object.keys(ir.constants),
    ...Object.keys(ir.ioctls),
    ...Object.keys(ir.structs),
    ...Object.keys(ir.formerNames),
  ]);
}

/** Split the header's items into those the out-of-scope list accounts for and those nobody knows. */
export function accountFor(ir: Ir, items: HeaderItem[]): { unknown: UnknownItem[]; outOfScope: number } {
  const known = knownNames(ir);
  const unknown: UnknownItem[] = [];
  let outOfScope = 0;
  for (const it of items) {
    if (known.has(it.name)) continue;
    if (it.name in ir.outOfScope) {
      outOfScope++;
      continue;
    }
    unknown.push({
      kind: it.kind,
      name: it.name,
      file: it.file,
      ...(it.definition !== undefined ? { definition: it.definition } : {}),
      ...(it.functionLike ? { functionLike: true } : {}),
    });
  }
  unknown.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { unknown, outOfScope };
}

export function headerVersionOf(macros: Map<string, { value: string }>): string | null {
  const v = macros.get('LINUX_VERSION_CODE')?.value;
  if (!v || !/^\d+$/.test(v.trim())) return null;
  const n = Number(v);
  return `${n >> 16}.${(n >> 8) & 0xff}.${n & 0xff}`;
}

const hex = (n: number) => (n < 0 ? String(n) : '0x' + n.toString(16));

/** Every name with more than one meaning over time, with the meaning the probe checked in this header. */
export function collisionsOf(ir: Ir, checks: CheckResult[]): Collision[] {
  const out: Collision[] = [];
  for (const name of [...ambiguousNames(ir)].sort()) {
    const meanings: Collision['meanings'] = (ir.formerNames[name] ?? []).map((m) => ({
      value: m.value,
      from: m.from,
      until: m.until,
      now: m.current,
    }));
    if (name in ir.constants) {
      const info = ir.constantInfo[name]!;
      meanings.push({ value: ir.constants[name]!, from: info.nameSince ?? info.since, now: name });
    }
    meanings.sort((a, b) => compareReleases(a.from, b.from));
    // the meaning whose check ran (verified or mismatched) is the one this header's release has
    let inHeader: Collision['inHeader'] = null;
    let status: Status | null = null;
    for (const m of meanings) {
      const id = m.until ? `constant ${name} (${m.from} until ${m.until})` : `constant ${name}`;
      const c = checks.find((x) => x.id === id);
      if (c && (c.status === 'verified' || c.status === 'mismatch')) {
        inHeader = m;
        status = c.status;
      }
    }
    out.push({ name, meanings, inHeader, status });
  }
  return out;
}

function describe(c: ProbeCheck, actual: number, expected: number): string {
  const show = c.kind === 'ioctl' || c.kind === 'constant' ? hex : String;
  return `header has ${show(actual)}, spec says ${show(expected)}`;
}

/** Compile and run the probe for `ir` against the headers; never throws for a mismatch, only for a broken toolchain. */
export function headerCheck(ir: Ir, opts: HeaderCheckOptions = {}): HeaderCheckReport {
  const flags = headerFlags(opts);
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
    else if (tag === 'R') results.set(id, { ...base, until: a, status: 'retired' });
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
  const retired = checks
    .filter((c) => c.status === 'retired')
    .map((c) => ({ item: c.item, until: c.until ?? '' }))
    .sort((a, b) => compareReleases(a.until, b.until) || (a.item < b.item ? -1 : a.item > b.item ? 1 : 0));
  const mismatches = checks.filter((c) => c.status === 'mismatch');
  const account = accountFor(ir, headerInventory(preprocessedByFile(flags)));
  return {
    include: opts.include ?? null,
    abi: opts.abi ?? 'lp64',
    headerVersion: headerVersionOf(macros),
    datedBy: macros.has('LINUX_VERSION_CODE') ? 'LINUX_VERSION_CODE' : 'witness macros',
    counts: {
      verified: checks.filter((c) => c.status === 'verified').length,
      absent: checks.filter((c) => c.status === 'absent').length,
      retired: checks.filter((c) => c.status === 'retired').length,
      mismatched: mismatches.length,
      unknown: account.unknown.length,
    },
    absent,
    retired,
    collisions: collisionsOf(ir, checks),
    mismatches,
    unknown: account.unknown,
    outOfScope: account.outOfScope,
    checks,
  };
}
