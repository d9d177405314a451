import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { IrArc, IrFsm } from '../ir/types.js';
import { arcExists, capsOf, opensFd, stateSupported } from './derive.js';

/**
 * The kernel's way of stepping through the migration state machine: one 8×8 table
 * `next[from][to]` shared by every device, plus the capability flags each state needs. To serve a
 * request the kernel looks up `next[cur][to]`; while that state needs flags the device lacks it
 * looks up `next[that][to]` instead; the driver executes the one arc to the result and asks again,
 * until it reaches `to`. A result of ERROR means "refuse" (EINVAL).
 *
 * The algorithm changed once (`StepAlgorithm`): from 4db52602a607 (6.2) the skip loop only stopped at a
 * state whose flags the device has, so a blocked entry (ERROR, which needs every bit) was looked up
 * forever; since a26b499b757c (7.2, 6.12.96) the loop also stops at ERROR. Facts from
 * drivers/vfio/vfio_main.c `vfio_mig_get_next_state` at both versions; the code here is our own.
 *
 * This module runs either algorithm on any table, compares it with the spec's derived paths, and
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

/**
 * A version of the kernel's step algorithm. `original`: the skip loop runs until it reaches a state whose
 * flags the device has (4db52602a607 "vfio: Extend the device migration protocol with PRE_COPY", 6.2, up to
 * the fix). `stops-at-error`: the loop also ends at ERROR, which is then refused with EINVAL (a26b499b757c
 * "vfio: prevent infinite loop in vfio_mig_get_next_state() on blocked arc", 7.2 and 6.12.96).
 */
export type StepAlgorithm = 'original' | 'stops-at-error';
export const STEP_ALGORITHMS: readonly StepAlgorithm[] = ['original', 'stops-at-error'];

/** What the kernel algorithm does with one request on one device. */
export type KernelOutcome =
  | { kind: 'path'; path: string[] }
  /**
   * EINVAL. `by: 'driver'`: the core handed the driver a step it has no arc for (`next == cur`), and
   * drivers WARN and return EINVAL for it; otherwise the core refused.
   */
  | { kind: 'refused'; after: string[]; reason: string; by?: 'driver'; step?: [string, string] }
  | { kind: 'loop'; where: 'skip' | 'steps'; after: string[]; cycle: string[] };

export interface KernelTableFinding {
  problem:
    | 'non-termination'
    | 'driver-einval'
    | 'path-differs'
    | 'interior-saving-state'
    | 'interior-fd'
    | 'not-an-arc'
    | 'bad-table';
  /** The step algorithm the finding was made with. */
  algorithm: StepAlgorithm;
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
 * Returns the next state, `null` for EINVAL, or the skip cycle when the loop never ends. With
 * `stopAt` (the error state, for the `stops-at-error` algorithm) the skip loop also ends there.
 */
export function kernelNextState(
  t: KernelTable,
  flagBits: Record<string, number>,
  deviceMask: number,
  cur: string,
  to: string,
  stopAt?: string,
): { next: string } | { refused: string } | { skipCycle: string[] } {
  const ok = (s: string) => {
    const need = requiresMask(t, flagBits, s);
    return (need & deviceMask) >>> 0 === need;
  };
  if (!(cur in t.next) || !ok(cur)) return { refused: `current state ${cur} is not one the device has (kernel WARNs)` };
  if (!(to in t.next) || !ok(to)) return { refused: `requested state ${to} is not one the device has` };
  let next = t.next[cur]?.[to];
  const seen: string[] = [];
  while (next !== undefined && next !== stopAt && !ok(next)) {
    if (seen.includes(next)) return { skipCycle: [...seen.slice(seen.indexOf(next)), next] };
    seen.push(next);
    next = t.next[next]?.[to];
  }
  if (next === undefined) return { refused: `table has no entry on the way from ${cur} to ${to}` };
  return { next };
}

/**
 * A whole request: the driver executes one arc per call until it reaches `to`. A step to the state the
 * device is already in is an arc no driver implements: drivers end their step function with a WARN and
 * EINVAL for any pair they do not know, so the request fails there (`driver-einval`).
 */
export function runKernelRequest(
  t: KernelTable,
  flagBits: Record<string, number>,
  error: string,
  caps: readonly string[],
  from: string,
  to: string,
  algorithm: StepAlgorithm = 'original',
): KernelOutcome {
  const mask = maskOf(flagBits, caps);
  const after: string[] = [];
  let cur = from;
  const visited = [from];
  const stopAt = algorithm === 'stops-at-error' ? error : undefined;
  while (cur !== to) {
    const r = kernelNextState(t, flagBits, mask, cur, to, stopAt);
    if ('refused' in r) return { kind: 'refused', after, reason: r.refused };
    if ('skipCycle' in r) return { kind: 'loop', where: 'skip', after, cycle: r.skipCycle };
    if (r.next === error) return { kind: 'refused', after, reason: `the table answers ${error}` };
    if (r.next === cur)
      return {
        kind: 'refused',
        after,
        by: 'driver',
        step: [cur, cur],
        reason: `the driver is asked for the step ${cur} → ${cur}, which it has no arc for (WARN, EINVAL)`,
      };
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
 * Run the kernel's algorithm (`original` unless told otherwise) over `t` for every capability set the
 * spec defines and every request from a state the device can be in, and report where it differs from
 * the spec or misbehaves.
 */
export function checkKernelTable(
  fsm: FsmFacts,
  t: KernelTable,
  algorithm: StepAlgorithm = 'original',
): KernelTableFinding[] {
  const findings: (Omit<KernelTableFinding, 'algorithm'> & { algorithm?: StepAlgorithm })[] = [];
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
  const tag = () => findings.map((f) => ({ ...f, algorithm }) as KernelTableFinding);
  if (findings.length) return tag();
  for (const key of fsm.capabilitySets) {
    const caps = capsOf(key);
    for (const from of fsm.states) {
      if (!stateSupported(fsm, caps, from)) continue;
      for (const to of fsm.states) {
        const request = `${from}->${to}`;
        const expected = fsm.paths[key]?.[from]?.[to] ?? null;
        const o = runKernelRequest(t, flagBits, fsm.error, caps, from, to, algorithm);
        if (o.kind === 'refused' && o.by === 'driver' && o.step) {
          const [a, b] = o.step;
          findings.push({
            problem: 'driver-einval',
            caps: key,
            request,
            path: o.after,
            expected,
            message: `next[${a}][${to}] = ${b}: the core asks the driver for the step ${a} → ${b}, an arc no driver implements; drivers WARN and return EINVAL${expected === null ? ' (the spec refuses this request, but without a kernel warning)' : `, where the spec's path is ${fmt(expected)}`}`,
          });
          continue;
        }
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
  return tag();
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

/** A kernel table that cannot be read: one line saying what is wrong and where. */
export class KernelTableInputError extends Error {}

/** Keys a kernel table may have besides the four the checker reads (the generated table's own notes). */
const NOTE_KEYS = new Set(['format', 'notes', 'inexpressible']);
const TABLE_KEYS = new Set(['states', 'capabilityFlags', 'requires', 'next']);

const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const show = (v: unknown) => (typeof v === 'string' ? `"${v}"` : JSON.stringify(v));

/**
 * Read a table written as JSON (the kernel format). Every field is validated; with `facts`, state and
 * flag names and flag values must be the spec's. Keys starting with "//" and the generated table's
 * notes ("format", "notes", "inexpressible") are ignored. Throws KernelTableInputError (one line).
 */
export function parseKernelTable(json: unknown, facts?: Pick<FsmFacts, 'states' | 'flagBits'>): KernelTable {
  const bad = (msg: string) => new KernelTableInputError(msg);
  if (!isRecord(json))
    throw bad('a kernel table is a JSON object with "next" (from → to → next state) and "requires" (state → flags)');
  for (const k of Object.keys(json))
    if (!TABLE_KEYS.has(k) && !NOTE_KEYS.has(k) && !k.startsWith('//'))
      throw bad(
        `unknown key ${show(k)}: a kernel table has "next", "requires" and optionally "states" and "capabilityFlags" ("//" keys are comments)`,
      );
  if (!isRecord(json.next) || !isRecord(json.requires))
    throw bad('a kernel table is a JSON object with "next" (from → to → next state) and "requires" (state → flags)');

  const specStates = facts?.states;
  let states: string[] | undefined;
  if (json.states !== undefined) {
    if (!Array.isArray(json.states) || !json.states.every((x) => typeof x === 'string'))
      throw bad('"states" must be a list of state names');
    states = json.states as string[];
    const dup = states.find((x, i) => states!.indexOf(x) !== i);
    if (dup) throw bad(`states: ${show(dup)} is listed twice`);
    if (specStates) {
      const extra = states.find((x) => !specStates.includes(x));
      if (extra) throw bad(`states: ${show(extra)} is not a state of the spec (${specStates.join(', ')})`);
      const missing = specStates.find((x) => !states!.includes(x));
      if (missing) throw bad(`states: ${show(missing)} is missing (the spec's states are ${specStates.join(', ')})`);
      if (states.join() !== specStates.join())
        throw bad(`states must be in value order: ${specStates.join(', ')} (the table has ${states.join(', ')})`);
    }
  }
  const knownStates = specStates ?? states;
  const needState = (s: string, where: string) => {
    if (knownStates && !knownStates.includes(s))
      throw bad(
        `${where}: ${show(s)} is not a state of the ${specStates ? 'spec' : 'table'} (${knownStates.join(', ')})`,
      );
  };

  let flagBits: Record<string, number> | undefined = facts ? { ...facts.flagBits } : undefined;
  if (json.capabilityFlags !== undefined) {
    if (!isRecord(json.capabilityFlags)) throw bad('"capabilityFlags" must be an object of flag name → bit value');
    for (const [name, v] of Object.entries(json.capabilityFlags)) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0 || v > 0x80000000 || (v & (v - 1)) !== 0)
        throw bad(`capabilityFlags.${name}: ${show(v)} is not a single bit`);
      if (facts) {
        if (!(name in facts.flagBits))
          throw bad(
            `capabilityFlags: ${show(name)} is not a capability flag of the spec (${Object.keys(facts.flagBits).join(', ')})`,
          );
        if (facts.flagBits[name] !== v)
          throw bad(`capabilityFlags.${name} is ${v}, but the uAPI's value is ${facts.flagBits[name]}`);
      }
    }
    flagBits = { ...(flagBits ?? {}), ...(json.capabilityFlags as Record<string, number>) };
  }
  const knownMask = flagBits ? Object.values(flagBits).reduce((m, b) => m | b, 0) >>> 0 : undefined;

  for (const [s, r] of Object.entries(json.requires)) {
    needState(s, 'requires');
    const where = `requires.${s}`;
    if (r === 'ALL') continue;
    if (typeof r === 'number') {
      if (!Number.isInteger(r) || r < 0 || r > ALL_BITS) throw bad(`${where}: ${show(r)} is not a 32-bit mask`);
      if (knownMask !== undefined && r !== ALL_BITS && (r & ~knownMask) >>> 0 !== 0)
        throw bad(
          `${where}: mask 0x${r.toString(16)} has bits that are not capability flags (known: 0x${knownMask.toString(16)}; write "ALL" or 4294967295 for ~0U)`,
        );
      continue;
    }
    if (!Array.isArray(r) || !r.every((x) => typeof x === 'string'))
      throw bad(`${where} must be a list of flag names, a bit mask or "ALL"`);
    for (const name of r as string[]) {
      if (flagBits && !(name in flagBits))
        throw bad(`${where}: ${show(name)} is not a capability flag (${Object.keys(flagBits).join(', ')})`);
      if ((r as string[]).indexOf(name) !== (r as string[]).lastIndexOf(name))
        throw bad(`${where}: ${show(name)} is listed twice`);
    }
  }
  for (const [from, row] of Object.entries(json.next)) {
    needState(from, 'next');
    if (!isRecord(row)) throw bad(`next.${from} must be an object of requested state → next state`);
    for (const [to, n] of Object.entries(row)) {
      needState(to, `next.${from}`);
      if (typeof n !== 'string') throw bad(`next.${from}.${to}: ${show(n)} is not a state name`);
      needState(n, `next.${from}.${to}`);
    }
  }
  return {
    ...(states ? { states } : {}),
    ...(json.capabilityFlags !== undefined ? { capabilityFlags: json.capabilityFlags as Record<string, number> } : {}),
    requires: json.requires as KernelTable['requires'],
    next: json.next as KernelTable['next'],
  };
}

/** Largest kernel-table file read (a table is a few kB; the generated one about 3 kB). */
export const KERNEL_TABLE_MAX_BYTES = 1 << 20;

/**
 * Read and validate a kernel-table file, reading at most `limit` bytes: `/dev/zero` or a huge file fails
 * at once instead of filling memory. Throws KernelTableInputError with one line naming the file.
 */
export function readKernelTableFile(
  file: string,
  facts?: Pick<FsmFacts, 'states' | 'flagBits'>,
  limit = KERNEL_TABLE_MAX_BYTES,
): KernelTable {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new KernelTableInputError(
      `${file}: ${code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'permission denied' : `cannot be opened (${code})`}`,
    );
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    if (fstatSync(fd).isDirectory())
      throw new KernelTableInputError(`${file}: is a directory, not a kernel-table JSON file`);
    const buf = Buffer.alloc(64 << 10);
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        throw new KernelTableInputError(`${file}: cannot be read (${(e as NodeJS.ErrnoException).code})`);
      }
      if (n === 0) break;
      total += n;
      if (total > limit)
        throw new KernelTableInputError(
          `${file}: more than ${limit >> 10} KiB; a kernel table is a few kB of JSON (is this the right file?)`,
        );
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
  } finally {
    closeSync(fd);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (e) {
    throw new KernelTableInputError(`${file}: not JSON (${(e as Error).message.split('\n')[0]})`);
  }
  try {
    return parseKernelTable(json, facts);
  } catch (e) {
    if (e instanceof KernelTableInputError) throw new KernelTableInputError(`${file}: ${e.message}`);
    throw e;
  }
}

/** The checker's facts from the IR: the state machine plus the capability flag bits. */
export function fsmFacts(ir: {
  fsm: IrFsm;
  flags: Record<string, { members: Record<string, { value: number }> }>;
}): FsmFacts {
  const members = ir.flags[ir.fsm.capabilityFlags]?.members ?? {};
  return { ...ir.fsm, flagBits: Object.fromEntries(Object.entries(members).map(([k, m]) => [k, m.value])) };
}
