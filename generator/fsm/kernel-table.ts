import type { IrArc, IrFsm } from '../ir/types.js';
import { arcExists, capsOf, opensFd, stateSupported } from './derive.js';

/**
 * The kernel's way of stepping through the migration state machine: one 8×8 table
 * `next[from][to]` shared by every device, plus the capability flags each state needs. To serve a
 * request the kernel looks up `next[cur][to]`; while that state needs flags the device lacks it
 * looks up `next[that][to]` instead; the driver executes the one arc to the result and asks again,
 * until it reaches `to`. A result of ERROR means "refuse" (EINVAL).
 *
 * This module runs that algorithm on any table, compares it with the spec's derived paths, and
 * derives one table that reproduces the spec for every capability set.
 */

/** A state's required flags: flag names, a raw bit mask, or `"ALL"` (the kernel's `~0U` for ERROR). */
export type KernelRequires = readonly string[] | number | 'ALL';

export interface KernelTable {
  /** State names in value order; defaults to the spec's. */
  states?: readonly string[];
  /** Capability flag bits; defaults to the spec's. */
  capabilityFlags?: Readonly<Record<string, number>>;
  requires: Readonly<Record<string, KernelRequires>>;
  next: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

export const ALL_BITS = 0xffffffff;

/** The data the checker needs from the spec (the IR's state machine, plus the flag bit values). */
export type FsmFacts = Pick<
  IrFsm,
  'states' | 'requires' | 'arcs' | 'endpointOnly' | 'forbidden' | 'error' | 'capabilitySets' | 'paths'
> & { flagBits: Record<string, number> };

/** What the kernel algorithm does with one request on one device. */
export type KernelOutcome =
  | { kind: 'path'; path: string[] }
  | { kind: 'refused'; after: string[]; reason: string }
  | { kind: 'loop'; where: 'skip' | 'steps'; after: string[]; cycle: string[] };

export interface KernelTableFinding {
  problem: 'non-termination' | 'path-differs' | 'interior-saving-state' | 'interior-fd' | 'not-an-arc' | 'bad-table';
  caps: string;
  request: string;
  /** The states the kernel's algorithm stepped through (for a loop: up to and including the cycle). */
  path: string[];
  /** The spec's path (null = refused), where relevant. */
  expected?: string[] | null;
  message: string;
}

const maskOf = (flagBits: Record<string, number>, caps: readonly string[]) =>
  caps.reduce((m, c) => m | (flagBits[c] ?? 0), 0);

function requiresMask(t: KernelTable, flagBits: Record<string, number>, state: string): number {
  const r = t.requires[state];
  if (r === undefined || r === 'ALL') return ALL_BITS;
  if (typeof r === 'number') return r >>> 0;
  return maskOf(flagBits, r);
}

/**
 * One call of the kernel's `vfio_mig_get_next_state`: validate, look up, skip unsupported states.
 * Returns the next state, `null` for EINVAL, or the skip cycle when the loop never ends.
 */
export function kernelNextState(
  t: KernelTable,
  flagBits: Record<string, number>,
  deviceMask: number,
  cur: string,
  to: string,
): { next: string } | { refused: string } | { skipCycle: string[] } {
  const ok = (s: string) => {
    const need = requiresMask(t, flagBits, s);
    return (need & deviceMask) >>> 0 === need;
  };
  if (!(cur in t.next) || !ok(cur)) return { refused: `current state ${cur} is not one the device has (kernel WARNs)` };
  if (!(to in t.next) || !ok(to)) return { refused: `requested state ${to} is not one the device has` };
  let next = t.next[cur]?.[to];
  const seen: string[] = [];
  while (next !== undefined && !ok(next)) {
    if (seen.includes(next)) return { skipCycle: [...seen.slice(seen.indexOf(next)), next] };
    seen.push(next);
    next = t.next[next]?.[to];
  }
  if (next === undefined) return { refused: `table has no entry on the way from ${cur} to ${to}` };
  return { next };
}

/** A whole request: the driver executes one arc per call until it reaches `to`. */
export function runKernelRequest(
  t: KernelTable,
  flagBits: Record<string, number>,
  error: string,
  caps: readonly string[],
  from: string,
  to: string,
): KernelOutcome {
  const mask = maskOf(flagBits, caps);
  const after: string[] = [];
  let cur = from;
  const visited = [from];
  while (cur !== to) {
    const r = kernelNextState(t, flagBits, mask, cur, to);
    if ('refused' in r) return { kind: 'refused', after, reason: r.refused };
    if ('skipCycle' in r) return { kind: 'loop', where: 'skip', after, cycle: r.skipCycle };
    if (r.next === error) return { kind: 'refused', after, reason: `the table answers ${error}` };
    if (r.next === cur) return { kind: 'loop', where: 'steps', after, cycle: [cur, cur] };
    after.push(r.next);
    if (visited.includes(r.next))
      return { kind: 'loop', where: 'steps', after, cycle: visited.slice(visited.indexOf(r.next)).concat(r.next) };
    visited.push(r.next);
    cur = r.next;
  }
  return { kind: 'path', path: after };
}

function skipLoopMessage(cur: string, to: string, cycle: readonly string[]): string {
  const chain = [cur, ...cycle];
  const reads = chain.slice(0, -1).map((s, i) => `next[${s}][${to}] = ${chain[i + 1]}`);
  return `vfio_mig_get_next_state never returns: ${reads.join(', ')}, ... — the skip loop only stops at a state whose flags the device has, and ${[...new Set(cycle)].join(', ')} is not one`;
}

const fmt = (p: readonly string[] | null | undefined) => (p == null ? 'refused' : p.length ? p.join(' → ') : '(stay)');

/** States in which a data session is open for these capabilities (entered by an arc that opens or keeps one). */
export function sessionStates(
  fsm: Pick<IrFsm, 'arcs' | 'requires' | 'states' | 'endpointOnly' | 'forbidden' | 'error'>,
  caps: readonly string[],
): Set<string> {
  const s = new Set<string>();
  for (const a of fsm.arcs) if (arcExists(fsm, caps, a) && (opensFd(a) || a.fd === 'keeps')) s.add(a.to);
  return s;
}

/**
 * Problems of one stepped path regardless of what the spec says it should be: interior fd opens,
 * non-first fd ends, interior endpoint-only states, interior states holding a data session that the
 * rest of the path does not carry on, and steps that are not arcs.
 */
export function pathShapeProblems(
  fsm: Pick<IrFsm, 'arcs' | 'requires' | 'states' | 'endpointOnly' | 'forbidden' | 'error'>,
  caps: readonly string[],
  from: string,
  path: readonly string[],
): { problem: 'interior-saving-state' | 'interior-fd' | 'not-an-arc'; message: string }[] {
  const out: { problem: 'interior-saving-state' | 'interior-fd' | 'not-an-arc'; message: string }[] = [];
  const arcs = arcsAlong(fsm, caps, from, path);
  const session = sessionStates(fsm, caps);
  arcs.forEach((a, i) => {
    const [f, t] = [i === 0 ? from : path[i - 1]!, path[i]!];
    if (!a) {
      out.push({ problem: 'not-an-arc', message: `step ${f} → ${t} is not an arc this device has` });
      return;
    }
    if (opensFd(a) && i !== arcs.length - 1)
      out.push({ problem: 'interior-fd', message: `interior arc ${f} → ${t} opens a data fd (only the last arc may)` });
    if (a.fd === 'ends' && i !== 0)
      out.push({ problem: 'interior-fd', message: `arc ${f} → ${t} ends the data fd but is not the first arc` });
  });
  path.slice(0, -1).forEach((s, i) => {
    if (fsm.endpointOnly.includes(s))
      out.push({ problem: 'interior-saving-state', message: `${s} is endpoint-only but is passed through` });
    else if (session.has(s) && !arcs.slice(i + 1).every((a) => a?.fd === 'keeps'))
      out.push({
        problem: 'interior-saving-state',
        message: `${s} holds a data session and is passed through, but the rest of the path does not carry that session on`,
      });
  });
  return out;
}

/** The arc taken by each step of a path (undefined where no such arc exists for these capabilities). */
export function arcsAlong(
  fsm: Pick<IrFsm, 'arcs' | 'requires' | 'states' | 'endpointOnly' | 'forbidden' | 'error'>,
  caps: readonly string[],
  from: string,
  path: readonly string[],
): (IrArc | undefined)[] {
  return path.map((t, i) => {
    const f = i === 0 ? from : path[i - 1]!;
    return fsm.arcs.find((a) => a.from === f && a.to === t && arcExists(fsm, caps, a));
  });
}

/**
 * Run the kernel's algorithm over `t` for every capability set the spec defines and every request
 * from a state the device can be in, and report where it differs from the spec or misbehaves.
 */
export function checkKernelTable(fsm: FsmFacts, t: KernelTable): KernelTableFinding[] {
  const findings: KernelTableFinding[] = [];
  const states = t.states ?? fsm.states;
  const flagBits = { ...fsm.flagBits, ...(t.capabilityFlags ?? {}) };
  for (const s of fsm.states) {
    if (!(s in t.next) || !(s in t.requires))
      findings.push({
        problem: 'bad-table',
        caps: '*',
        request: s,
        path: [],
        message: `the table has no row or requires entry for ${s}`,
      });
    else {
      for (const to of fsm.states)
        if (!(to in t.next[s]!))
          findings.push({
            problem: 'bad-table',
            caps: '*',
            request: `${s}->${to}`,
            path: [],
            message: `the table has no entry next[${s}][${to}]`,
          });
      for (const to of Object.values(t.next[s]!))
        if (!states.includes(to))
          findings.push({
            problem: 'bad-table',
            caps: '*',
            request: s,
            path: [],
            message: `unknown state ${to} in row ${s}`,
          });
    }
  }
  if (findings.length) return findings;
  for (const key of fsm.capabilitySets) {
    const caps = capsOf(key);
    for (const from of fsm.states) {
      if (!stateSupported(fsm, caps, from)) continue;
      for (const to of fsm.states) {
        const request = `${from}->${to}`;
        const expected = fsm.paths[key]?.[from]?.[to] ?? null;
        const o = runKernelRequest(t, flagBits, fsm.error, caps, from, to);
        if (o.kind === 'loop') {
          findings.push({
            problem: 'non-termination',
            caps: key,
            request,
            path: [...o.after, ...o.cycle],
            expected,
            message:
              o.where === 'skip'
                ? skipLoopMessage(o.after.at(-1) ?? from, to, o.cycle)
                : `the driver's steps cycle and never reach ${to}: ${o.cycle.join(' → ')}`,
          });
          continue;
        }
        const got = o.kind === 'path' ? o.path : null;
        if (JSON.stringify(got) !== JSON.stringify(expected))
          findings.push({
            problem: 'path-differs',
            caps: key,
            request,
            path: o.kind === 'path' ? o.path : o.after,
            expected,
            message: `kernel algorithm gives ${o.kind === 'path' ? fmt(o.path) : `refused after ${fmt(o.after)} (${o.reason})`}, the spec ${fmt(expected)}`,
          });
        const walked = o.kind === 'path' ? o.path : o.after;
        for (const p of pathShapeProblems(fsm, caps, from, walked))
          findings.push({ ...p, caps: key, request, path: walked, expected });
      }
    }
  }
  return findings;
}

/** The spec's required flags in the kernel format; ERROR (never requestable) as the kernel writes it. */
function specRequires(
  fsm: Pick<IrFsm, 'states' | 'requires'>,
  errorRequires: KernelRequires,
): Record<string, KernelRequires> {
  return Object.fromEntries(fsm.states.map((s) => [s, fsm.requires[s] ?? errorRequires]));
}

export interface DerivedKernelTable {
  table: Required<KernelTable>;
  /** Requests (per capability set) no single table can serve with the kernel's algorithm, with why. */
  inexpressible: { caps: string; request: string; reason: string }[];
}

/**
 * One table that, run by the kernel's algorithm, reproduces the spec's step-by-step paths for every
 * capability set. Found per requested state (column) by backtracking search, trying the spec's own
 * next step for the full capability set first, so the result stays close to what a person would write.
 *
 * ERROR is given no required flags: with the kernel's "all bits" the skip loop can never stop at
 * ERROR, so no table could refuse a request between two states the device has (STOP_COPY→PRE_COPY)
 * — that is the kernel's endless loop. With no required flags the loop stops at ERROR and the kernel
 * returns EINVAL; requesting ERROR itself still gives EINVAL because every →ERROR entry is ERROR.
 */
export function deriveKernelTable(fsm: FsmFacts): DerivedKernelTable {
  const { states, error } = fsm;
  const requires = specRequires(fsm, []);
  const t: Required<KernelTable> = {
    states,
    capabilityFlags: fsm.flagBits,
    requires,
    next: Object.fromEntries(states.map((s) => [s, Object.fromEntries(states.map((d) => [d, error]))])),
  };
  const next = t.next as Record<string, Record<string, string>>;
  const inexpressible: DerivedKernelTable['inexpressible'] = [];
  const full = fsm.capabilitySets.at(-1)!;
  for (const to of states) {
    // Constraints: for each caps and each supported cur, the kernel's step equals the spec's next step.
    const wanted: { key: string; caps: string[]; cur: string; want: string }[] = [];
    for (const key of fsm.capabilitySets) {
      const caps = capsOf(key);
      for (const cur of states) {
        if (!stateSupported(fsm, caps, cur) || cur === to) continue;
        const p = fsm.paths[key]?.[cur]?.[to];
        if (!stateSupported(fsm, caps, to) && p === null) continue; // the kernel refuses before the table
        wanted.push({ key, caps, cur, want: p && p.length ? p[0]! : error });
      }
    }
    const vars = states.filter((s) => s !== to);
    next[to]![to] = to;
    const candidates = (s: string) => {
      const pref = fsm.paths[full]?.[s]?.[to];
      const first = pref && pref.length ? pref[0]! : error;
      return [first, ...states.filter((x) => x !== first && x !== s)];
    };
    const assigned = new Map<string, string>([[to, to]]);
    const satisfied = (strict: boolean) =>
      wanted.every(({ caps, cur, want }) => {
        const mask = maskOf(fsm.flagBits, caps);
        let n = assigned.get(cur);
        const seen = new Set<string>();
        while (n !== undefined && n !== error && n !== to && !seen.has(n)) {
          const need = requiresMask(t, fsm.flagBits, n);
          if ((need & mask) >>> 0 === need) break;
          seen.add(n);
          n = assigned.get(n);
        }
        if (n === undefined) return !strict;
        if (n !== error && n !== to && seen.has(n)) return false;
        return n === want;
      });
    const search = (i: number): boolean => {
      if (i === vars.length) return satisfied(true);
      for (const v of candidates(vars[i]!)) {
        assigned.set(vars[i]!, v);
        if (satisfied(false) && search(i + 1)) return true;
      }
      assigned.delete(vars[i]!);
      return false;
    };
    if (search(0)) for (const [s, v] of assigned) next[s]![to] = v;
    else {
      // Keep the spec's full-capability answer and name every request it gets wrong.
      for (const s of vars) next[s]![to] = candidates(s)[0]!;
      for (const w of wanted) {
        const o = runKernelRequest(t, fsm.flagBits, error, w.caps, w.cur, to);
        const got = o.kind === 'path' ? o.path[0] : o.kind === 'refused' && o.after.length === 0 ? error : undefined;
        if (got !== w.want)
          inexpressible.push({
            caps: w.key,
            request: `${w.cur}->${to}`,
            reason: `no single table column for ${to} gives ${w.want} here as well as the other capability sets' next steps`,
          });
      }
    }
  }
  return { table: t, inexpressible };
}

/** Read a table written as JSON (the kernel format); unknown keys such as "//" are ignored. */
export function parseKernelTable(json: unknown): KernelTable {
  const o = json as Partial<KernelTable> | null;
  if (
    !o ||
    typeof o !== 'object' ||
    typeof o.next !== 'object' ||
    typeof o.requires !== 'object' ||
    !o.next ||
    !o.requires
  )
    throw new Error(
      'a kernel table is a JSON object with "next" (from → to → next state) and "requires" (state → flags)',
    );
  for (const [s, r] of Object.entries(o.requires))
    if (!(r === 'ALL' || typeof r === 'number' || (Array.isArray(r) && r.every((x) => typeof x === 'string'))))
      throw new Error(`requires.${s} must be a list of flag names, a bit mask or "ALL"`);
  return o as KernelTable;
}

/** The checker's facts from the IR: the state machine plus the capability flag bits. */
export function fsmFacts(ir: {
  fsm: IrFsm;
  flags: Record<string, { members: Record<string, { value: number }> }>;
}): FsmFacts {
  const members = ir.flags[ir.fsm.capabilityFlags]?.members ?? {};
  return { ...ir.fsm, flagBits: Object.fromEntries(Object.entries(members).map(([k, m]) => [k, m.value])) };
}
