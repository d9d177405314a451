/**
 * Capability flags and migration states renamed between two revisions. The state machine names both
 * everywhere (capability sets, arcs, bans, paths, rules), so a renamed one would otherwise read as one
 * removed and another added, with every arc, path and rule that names it changed. They are judged by value,
 * like renamed flag bits: a capability whose bit is unchanged, and a state whose value and arcs are unchanged,
 * under another name, is a rename — ABI-compatible, a source break. The diff reports the rename once and
 * compares the rest with the old side written in the new names.
 */
import type { Ir, IrArc, IrRule } from '../ir/types.js';
import { ok, review } from './changes.js';
import { add, sorted, type Ctx } from './context.js';

export interface FsmRenames {
  /** Old capability name → new name. */
  caps: Map<string, string>;
  /** Old state name → new name. */
  states: Map<string, string>;
}

/** Members only one side has, paired by equal value (first match in name order, each used once). */
function pairByValue(x: Record<string, number>, y: Record<string, number>): Map<string, string> {
  const out = new Map<string, string>();
  const used = new Set<string>();
  for (const k of sorted(x)) {
    if (k in y) continue;
    const j = sorted(y).find((n) => !(n in x) && !used.has(n) && y[n] === x[k]);
    if (j === undefined) continue;
    out.set(k, j);
    used.add(j);
  }
  return out;
}

const arcKey = (a: IrArc) =>
  `${a.from}->${a.to} when ${[...a.when].sort().join('+')} unless ${[...a.unless].sort().join('+')} fd ${a.fd}`;

function arcsOf(ir: Ir, state: string): string[] {
  return ir.fsm.arcs
    .filter((a) => a.from === state || a.to === state)
    .map(arcKey)
    .sort();
}

export function findFsmRenames(a: Ir, b: Ir): FsmRenames {
  const values = (m: Record<string, { value: number }> | undefined) =>
    Object.fromEntries(Object.entries(m ?? {}).map(([k, v]) => [k, v.value]));
  const caps = pairByValue(
    values(a.flags[a.fsm.capabilityFlags]?.members),
    values(b.flags[b.fsm.capabilityFlags]?.members),
  );
  const statesOf = (ir: Ir) => Object.fromEntries(ir.fsm.states.map((s) => [s, ir.states[s]!]));
  const states = pairByValue(statesOf(a), statesOf(b));
  // A state is the same state under a new name only if it has the same arcs (in the new names); a value
  // reused for a state that behaves otherwise is a state removed and another added.
  for (;;) {
    const renamed = renameFsmNames(a, { caps, states });
    const differ = [...states].filter(([, to]) => arcsOf(renamed, to).join('\n') !== arcsOf(b, to).join('\n'));
    if (!differ.length) break;
    for (const [from] of differ) states.delete(from);
  }
  return { caps, states };
}

/** The IR with renamed capabilities and states written in their new names (a copy; `ir` is not changed). */
export function renameFsmNames(ir: Ir, r: FsmRenames): Ir {
  if (!r.caps.size && !r.states.size) return ir;
  const cap = (c: string) => r.caps.get(c) ?? c;
  const st = (s: string) => r.states.get(s) ?? s;
  const caps = (cs: string[]) => cs.map(cap);
  const capSet = (cs: string) => cs.split('+').map(cap).join('+');
  const keys = <T>(o: Record<string, T>, name: (k: string) => string, value: (v: T) => T = (v) => v) =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [name(k), value(v)]));
  const f = ir.fsm;
  const stateEnum = ir.enums[f.stateEnum];
  const capFlags = ir.flags[f.capabilityFlags];
  // Constants named by a member: PREFIX + member.
  const constName = (n: string) => {
    if (stateEnum && n.startsWith(stateEnum.prefix)) {
      const m = n.slice(stateEnum.prefix.length);
      if (r.states.has(m)) return stateEnum.prefix + st(m);
    }
    if (capFlags && n.startsWith(capFlags.prefix)) {
      const m = n.slice(capFlags.prefix.length);
      if (r.caps.has(m)) return capFlags.prefix + cap(m);
    }
    return n;
  };
  const rule = (x: IrRule): IrRule => ({
    ...x,
    ...(Array.isArray(x.validIn) ? { validIn: x.validIn.map(st) } : {}),
    ...(x.perState ? { perState: keys(x.perState, st) } : {}),
    ...(x.ifCaps ? { ifCaps: caps(x.ifCaps) } : {}),
    ...(x.requiresCaps ? { requiresCaps: caps(x.requiresCaps) } : {}),
  });
  const request = (k: string) => {
    const [from, to] = k.split('->');
    return to === undefined ? k : `${st(from!)}->${st(to)}`;
  };
  return {
    ...ir,
    constants: keys(ir.constants, constName),
    constantInfo: keys(ir.constantInfo, constName),
    states: keys(ir.states, st),
    enums: stateEnum
      ? { ...ir.enums, [f.stateEnum]: { ...stateEnum, members: keys(stateEnum.members, st) } }
      : ir.enums,
    flags: capFlags
      ? { ...ir.flags, [f.capabilityFlags]: { ...capFlags, members: keys(capFlags.members, cap) } }
      : ir.flags,
    fsm: {
      ...f,
      states: f.states.map(st),
      mandatory: caps(f.mandatory),
      capabilitySets: f.capabilitySets.map(capSet),
      requires: keys(f.requires, st, (v) => (v ? caps(v) : v)),
      initial: st(f.initial),
      error: st(f.error),
      endpointOnly: f.endpointOnly.map(st),
      arcs: f.arcs.map((a) => ({ ...a, from: st(a.from), to: st(a.to), when: caps(a.when), unless: caps(a.unless) })),
      forbidden: f.forbidden.map((b) => ({
        ...b,
        from: st(b.from),
        to: st(b.to),
        when: caps(b.when),
        unless: caps(b.unless),
      })),
      paths: keys(f.paths, capSet, (byFrom) => keys(byFrom, st, (byTo) => keys(byTo, st, (p) => (p ? p.map(st) : p)))),
      next: keys(f.next, capSet, (byFrom) => keys(byFrom, st, (byTo) => keys(byTo, st, (s) => (s ? st(s) : s)))),
    },
    rules: keys(ir.rules, (k) => k, rule),
    kernelFixes: ir.kernelFixes.map((k) => ({ ...k, requests: k.requests.map(request) })),
  };
}

/** One change per renamed capability and state, classified like a renamed flag bit. */
export function reportFsmRenames(ctx: Ctx, a: Ir, b: Ir, r: FsmRenames) {
  const why = (old: string) =>
    review(`ABI-compatible (binaries carry the same value); a source break: code that names ${old} no longer compiles`);
  const xc = a.flags[a.fsm.capabilityFlags];
  const yc = b.flags[b.fsm.capabilityFlags];
  for (const [k, j] of r.caps) {
    const old = `${xc!.prefix}${k}`;
    add(
      ctx,
      'capability.renamed',
      k,
      `capability ${old} renamed to ${yc!.prefix}${j} (value ${xc!.members[k]!.value} unchanged)`,
      { old: xc!.site, new: yc!.site },
      why(old),
      ok('same bit; only the name in driver source changes'),
    );
  }
  const xs = a.enums[a.fsm.stateEnum];
  const ys = b.enums[b.fsm.stateEnum];
  for (const [k, j] of r.states) {
    const old = `${xs?.prefix ?? ''}${k}`;
    add(
      ctx,
      'state.renamed',
      k,
      `state ${old} renamed to ${ys?.prefix ?? ''}${j} (value ${a.states[k]} and its arcs unchanged)`,
      { old: xs?.site ?? a.fsm.site, new: ys?.site ?? b.fsm.site },
      why(old),
      ok('same value and arcs; only the name in driver source changes'),
    );
  }
}
