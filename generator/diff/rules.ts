/** Rules: strength, operations, valid states, errnos, stream behaviour, capability requirements. */
import type { IrRule } from '../ir/types.js';
import { breaks, ok, review, type Impact } from './changes.js';
import { add, common, eq, sorted, type Ctx } from './context.js';

function opOf(r: IrRule) {
  return r.op ?? r.requiresOp;
}

export function diffRules(ctx: Ctx) {
  const { a, b } = ctx;
  const allStates = b.fsm.states;
  const refsNew = (r: IrRule) =>
    (r.op && ctx.newOps.has(r.op)) ||
    (r.requiresOp && ctx.newOps.has(r.requiresOp)) ||
    (r.ifCaps ?? []).some((c) => ctx.newCaps.has(c)) ||
    (r.requiresCaps ?? []).some((c) => ctx.newCaps.has(c)) ||
    (Array.isArray(r.validIn) && r.validIn.every((s) => ctx.newStates.has(s))) ||
    (r.perState && Object.keys(r.perState).every((s) => ctx.newStates.has(s)));
  const refsGone = (r: IrRule) =>
    (r.op && ctx.goneOps.has(r.op)) ||
    (r.requiresOp && ctx.goneOps.has(r.requiresOp)) ||
    (r.ifCaps ?? []).some((c) => ctx.goneCaps.has(c)) ||
    (Array.isArray(r.validIn) && r.validIn.every((s) => ctx.goneStates.has(s)));

  for (const id of sorted(a.rules)) {
    if (id in b.rules) continue;
    const r = a.rules[id]!;
    add(
      ctx,
      'rule.removed',
      id,
      `rule ${id} (${r.kind}, ${r.strength}) removed`,
      { old: r.site },
      refsGone(r) ? ok('goes with what it talked about') : review('programs may no longer rely on it'),
      ok('drivers are no longer held to it'),
    );
  }
  for (const id of sorted(b.rules)) {
    if (id in a.rules) continue;
    const r = b.rules[id]!;
    let drivers: Impact;
    if (refsNew(r)) drivers = ok('applies only to what is new');
    else if (r.strength === 'should') drivers = review('a new recommendation');
    else if (r.strength === 'estimate') drivers = ok('an estimate: nothing fails for being off, it is measured');
    else if (r.kind === 'capability')
      drivers = breaks(
        `drivers with ${r.ifCaps?.join('+')} must now also support ${r.requiresOp ?? r.requiresCaps?.join('+')}`,
      );
    else drivers = review('a new obligation for existing drivers');
    add(
      ctx,
      'rule.added',
      id,
      `rule ${id} (${r.kind}, ${r.strength}) added${opOf(r) ? ` for ${opOf(r)}` : ''}`,
      { new: r.site },
      refsNew(r)
        ? ok('applies only to what is new')
        : ok(r.strength === 'estimate' ? 'a new estimate programs may use' : 'a new guarantee programs may rely on'),
      drivers,
    );
  }
  for (const id of sorted(a.rules)) {
    const x = a.rules[id]!;
    const y = b.rules[id];
    if (!y) continue;
    const sites = { old: x.site, new: y.site };
    if (x.kind !== y.kind) {
      add(
        ctx,
        'rule.kind-changed',
        id,
        `rule ${id}: ${x.kind} → ${y.kind}`,
        sites,
        review('the rule means something else'),
        review('the rule means something else'),
      );
      common(ctx, 'rule', id, x, y, y.kind === 'behaviour');
      continue;
    }
    const op = opOf(y) ?? id;
    if (x.strength !== y.strength) {
      if (y.strength === 'must')
        add(
          ctx,
          'rule.made-mandatory',
          id,
          `rule ${id}: ${x.strength} → must${y.kind === 'capability' ? ` (devices with ${y.ifCaps?.join('+')} must support ${y.requiresOp ?? y.requiresCaps?.join('+')})` : ''}`,
          sites,
          ok('programs may now rely on it'),
          breaks(
            y.kind === 'capability'
              ? `drivers that advertise ${y.ifCaps?.join('+')} without ${y.requiresOp ?? y.requiresCaps?.join('+')} become non-conforming`
              : 'drivers that did not follow it become non-conforming',
          ),
        );
      else if (x.strength === 'must')
        add(
          ctx,
          'rule.made-optional',
          id,
          `rule ${id}: must → ${y.strength}`,
          sites,
          breaks(
            y.kind === 'capability'
              ? `programs must cope with devices that have ${y.ifCaps?.join('+')} but not ${y.requiresOp ?? y.requiresCaps?.join('+')}`
              : y.strength === 'estimate'
                ? 'programs can no longer rely on exact values: they are estimates now'
                : 'programs can no longer rely on it',
          ),
          ok(y.strength === 'estimate' ? 'drivers may report estimates' : 'drivers may leave it out'),
        );
      else
        add(
          ctx,
          'rule.strength-changed',
          id,
          `rule ${id}: ${x.strength} → ${y.strength}`,
          sites,
          review(
            y.strength === 'should'
              ? 'what was an estimate is now a recommendation programs may expect devices to follow'
              : 'what was a recommendation is now only an estimate',
          ),
          review(y.strength === 'should' ? 'drivers that did not follow it now warn' : 'drivers need only estimate'),
        );
    }
    const bound = (t: IrRule['tolerance']) => ({ stated: t?.stated, bytes: t?.bytes, relative: t?.relative });
    if (x.strength === 'estimate' && y.strength === 'estimate' && !eq(bound(x.tolerance), bound(y.tolerance)))
      add(
        ctx,
        'rule.tolerance-changed',
        id,
        `rule ${id}: tolerance ${x.tolerance?.note ?? 'none'} → ${y.tolerance?.note ?? 'none'}`,
        sites,
        review('how far programs can trust the numbers changed'),
        review('how close drivers must estimate changed'),
      );
    if ((x.op ?? '') !== (y.op ?? '') || (x.on ?? '') !== (y.on ?? ''))
      add(
        ctx,
        'rule.op-changed',
        id,
        `rule ${id}: now about ${y.op ?? '-'} on ${y.on ?? '-'} (was ${x.op ?? '-'} on ${x.on ?? '-'})`,
        sites,
        review('the rule covers another operation'),
        review('the rule covers another operation'),
      );
    if (x.kind === 'state-validity') {
      const set = (v: IrRule['validIn'], states: string[]) => new Set(v === 'any' ? states : (v ?? []));
      const sx = set(x.validIn, a.fsm.states);
      const sy = set(y.validIn, allStates);
      const narrowed = [...sx].filter((s) => !sy.has(s) && !ctx.goneStates.has(s));
      const widened = [...sy].filter((s) => !sx.has(s) && !ctx.newStates.has(s));
      const toNew = [...sy].filter((s) => !sx.has(s) && ctx.newStates.has(s));
      if (narrowed.length)
        add(
          ctx,
          'rule.valid-states-narrowed',
          id,
          `${op} is valid in fewer states: no longer in ${narrowed.join(', ')} (now ${y.otherwise})`,
          sites,
          breaks(`breaking for userspace that called ${op} in ${narrowed.join(' or ')}: it now gets ${y.otherwise}`),
          breaks(
            `breaking for drivers that answered ${op} in ${narrowed.join(' or ')}: they must now fail with ${y.otherwise}`,
          ),
          [`valid in: ${[...sx].join(', ')}  ⇒  ${[...sy].join(', ')}`],
        );
      if (widened.length)
        add(
          ctx,
          'rule.valid-states-widened',
          id,
          `${op} is valid in more states: now also ${widened.join(', ')}`,
          sites,
          ok(`programs may now call it in ${widened.join(', ')}`),
          breaks(`breaking for drivers that refused ${op} in ${widened.join(' or ')}: they must now answer there`),
          [`valid in: ${[...sx].join(', ')}  ⇒  ${[...sy].join(', ')}`],
        );
      if (toNew.length)
        add(
          ctx,
          'rule.valid-states-extended',
          id,
          `${op} is valid in the new state(s) ${toNew.join(', ')}`,
          sites,
          ok('concerns only new states'),
          ok('concerns only drivers that implement the new states'),
        );
      if ((x.otherwiseStrength ?? x.strength) !== (y.otherwiseStrength ?? y.strength))
        add(
          ctx,
          'rule.errno-strength-changed',
          id,
          `${op} outside its valid states: ${y.otherwise} is now a ${y.otherwiseStrength ?? y.strength} (was a ${x.otherwiseStrength ?? x.strength})`,
          sites,
          review(`programs that test for exactly ${y.otherwise} must cope with the other errnos drivers may give`),
          review(`drivers ${(y.otherwiseStrength ?? y.strength) === 'must' ? 'must' : 'should'} return ${y.otherwise}`),
        );
      if (x.otherwise !== y.otherwise)
        add(
          ctx,
          'rule.errno-changed',
          id,
          `${op} outside its valid states: ${x.otherwise} → ${y.otherwise}`,
          sites,
          review(`programs that test for ${x.otherwise} must test for ${y.otherwise}`),
          review(`drivers must return ${y.otherwise}`),
        );
    }
    if (x.kind === 'errno') {
      if (x.errno !== y.errno)
        add(
          ctx,
          'rule.errno-changed',
          id,
          `${op} when ${y.condition}: ${x.errno} → ${y.errno}`,
          sites,
          review(`programs that test for ${x.errno} must test for ${y.errno}`),
          review(`drivers must return ${y.errno}`),
        );
      if (x.condition !== y.condition)
        add(
          ctx,
          'rule.condition-changed',
          id,
          `${op}: ${x.errno} condition "${x.condition}" → "${y.condition}"`,
          sites,
          review('the error happens in different cases'),
          review('check when drivers return it'),
        );
      if ((x.order ?? null) !== (y.order ?? null))
        add(
          ctx,
          'rule.order-changed',
          id,
          `${op}: check order ${x.order ?? '-'} → ${y.order ?? '-'}`,
          sites,
          review('with several faults, a different errno wins'),
          review('check order changed'),
        );
    }
    if (x.kind === 'stream') {
      const px = x.perState ?? {};
      const py = y.perState ?? {};
      for (const s of [...new Set([...Object.keys(px), ...Object.keys(py)])]) {
        const p = px[s];
        const q = py[s];
        if (eq(p, q)) continue;
        if (!p) {
          const isNew = ctx.newStates.has(s);
          add(
            ctx,
            'rule.stream-state-added',
            `${id}:${s}`,
            `${y.io}() in ${s} now specified: ${JSON.stringify(q)}`,
            sites,
            isNew ? ok('concerns a new state') : ok('a new guarantee'),
            isNew ? ok('concerns a new state') : review('drivers must behave as stated'),
          );
        } else if (!q)
          add(
            ctx,
            'rule.stream-state-removed',
            `${id}:${s}`,
            `${x.io}() in ${s} no longer specified`,
            sites,
            review('programs may no longer rely on it'),
            ok('less to follow'),
          );
        else if (p.end !== q.end || !eq(p.never ?? [], q.never ?? []) || p.allowed !== q.allowed)
          add(
            ctx,
            'rule.stream-changed',
            `${id}:${s}`,
            `${y.io}() in ${s}: ${JSON.stringify(p)} → ${JSON.stringify(q)}`,
            sites,
            breaks('end-of-data handling changes'),
            breaks('drivers must signal end of data differently'),
          );
        else
          add(
            ctx,
            'rule.errno-changed',
            `${id}:${s}`,
            `${y.io}() in ${s}: ${JSON.stringify(p)} → ${JSON.stringify(q)}`,
            sites,
            review('errno changed'),
            review('errno changed'),
          );
      }
    }
    if (
      x.kind === 'capability' &&
      (!eq(x.ifCaps, y.ifCaps) ||
        (x.requiresOp ?? '') !== (y.requiresOp ?? '') ||
        !eq(x.requiresCaps ?? [], y.requiresCaps ?? []))
    )
      add(
        ctx,
        'rule.capability-changed',
        id,
        `rule ${id}: with ${x.ifCaps?.join('+')} requires ${x.requiresOp ?? x.requiresCaps?.join('+')} → with ${y.ifCaps?.join('+')} requires ${y.requiresOp ?? y.requiresCaps?.join('+')}`,
        sites,
        review('what programs may rely on changed'),
        breaks('drivers must support what the rule now requires'),
      );
    common(ctx, 'rule', id, x, y, y.kind === 'behaviour');
  }
}
