/**
 * Semantic diff of two IRs: every change that means something to userspace or to drivers, each with
 * a rule id, both sites, and a classification per audience. Site moves alone are not changes. One file
 * per concern: structs.ts, values.ts (constants, enums, flags), fsm.ts (state machine), rules.ts,
 * calls.ts (ioctls, features, fd kinds); context.ts holds what they share. Capabilities and states renamed
 * without another value (renames.ts) are reported once; the rest is compared in the new names.
 */
import type { Ir } from '../ir/types.js';
import type { Change } from './changes.js';
import { diffCalls, diffFdKinds } from './calls.js';
import type { Ctx } from './context.js';
import { diffFsm } from './fsm.js';
import { findFsmRenames, renameFsmNames, reportFsmRenames } from './renames.js';
import { diffRules } from './rules.js';
import { diffStructs } from './structs.js';
import { diffSetsOfValues } from './values.js';

export function diffIr(old: Ir, b: Ir): Change[] {
  const renames = findFsmRenames(old, b);
  const a = renameFsmNames(old, renames);
  const featureOps = (ir: Ir) => Object.entries(ir.features).flatMap(([n, f]) => f.ops.map((o) => `${n}:${o}`));
  const opsA = new Set([...Object.keys(a.ioctls), ...featureOps(a)]);
  const opsB = new Set([...Object.keys(b.ioctls), ...featureOps(b)]);
  const capsOf = (ir: Ir) => new Set(Object.keys(ir.flags[ir.fsm.capabilityFlags]?.members ?? {}));
  const capsA = capsOf(a);
  const capsB = capsOf(b);
  const ctx: Ctx = {
    a,
    b,
    out: [],
    newStates: new Set(b.fsm.states.filter((s) => !a.fsm.states.includes(s))),
    goneStates: new Set(a.fsm.states.filter((s) => !b.fsm.states.includes(s))),
    newCaps: new Set([...capsB].filter((c) => !capsA.has(c))),
    goneCaps: new Set([...capsA].filter((c) => !capsB.has(c))),
    newOps: new Set([...opsB].filter((o) => !opsA.has(o))),
    goneOps: new Set([...opsA].filter((o) => !opsB.has(o))),
  };

  reportFsmRenames(ctx, old, b, renames);
  diffStructs(ctx);
  diffCalls(ctx);
  diffSetsOfValues(ctx);
  diffFsm(ctx);
  diffRules(ctx);
  diffFdKinds(ctx);
  return ctx.out;
}

export type { Change };
