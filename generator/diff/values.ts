/** Constants, enumerations and flag sets: values added, removed, changed; capability flags. */
import type { Ir, IrFlags, IrMember } from '../ir/types.js';
import { breaks, ok, review } from './changes.js';
import { add, common, list, sorted, type Ctx } from './context.js';

export function diffSetsOfValues(ctx: Ctx) {
  const { a, b } = ctx;
  // Standalone constants (enum members, flag bits and feature indexes are reported with their set).
  const standalone = (ir: Ir) =>
    Object.fromEntries(
      Object.entries(ir.constants)
        .filter(([n]) => ir.constantInfo[n]?.from === n)
        .map(([n, v]) => [n, v]),
    );
  const ca = standalone(a);
  const cb = standalone(b);
  for (const n of sorted(ca))
    if (!(n in cb))
      add(
        ctx,
        'constant.removed',
        n,
        `constant ${n} (${ca[n]}) removed`,
        {},
        breaks('source that names it no longer compiles'),
        ok('nothing to change'),
      );
  for (const n of sorted(cb))
    if (!(n in ca)) add(ctx, 'constant.added', n, `constant ${n} = ${cb[n]} added`, {}, ok('new'), ok('new'));
    else if (ca[n] !== cb[n])
      add(
        ctx,
        'constant.value-changed',
        n,
        `constant ${n}: ${ca[n]} → ${cb[n]}`,
        {},
        breaks('ABI break: binaries carry the old value'),
        breaks('ABI break'),
      );
    else if (
      a.constantInfo[n]!.since !== b.constantInfo[n]!.since ||
      a.constantInfo[n]!.doc !== b.constantInfo[n]!.doc
    ) {
      const x = a.constantInfo[n]!;
      const y = b.constantInfo[n]!;
      common(
        ctx,
        'constant',
        n,
        { since: x.since, doc: x.doc, site: undefined as never },
        { since: y.since, doc: y.doc, site: undefined as never },
      );
    }

  const stateEnum = b.fsm.stateEnum;
  const capFlags = b.fsm.capabilityFlags;
  for (const kind of ['enums', 'flags'] as const) {
    const xs = a[kind] as Record<string, Ir['enums'][string]>;
    const ys = b[kind] as Record<string, Ir['enums'][string]>;
    const word = kind === 'enums' ? 'enumeration' : 'flag set';
    for (const n of sorted(xs))
      if (!(n in ys))
        add(
          ctx,
          `${kind === 'enums' ? 'enum' : 'flags'}.removed`,
          n,
          `${word} ${n} removed (${list(Object.keys(xs[n]!.members))})`,
          { old: xs[n]!.site },
          breaks('source that names its values no longer compiles'),
          review('drivers using it must change'),
        );
    for (const n of sorted(ys))
      if (!(n in xs))
        add(
          ctx,
          `${kind === 'enums' ? 'enum' : 'flags'}.added`,
          n,
          `${word} ${n} added (${list(Object.entries(ys[n]!.members).map(([k, m]) => `${ys[n]!.prefix}${k} = ${m.value}`))})`,
          { new: ys[n]!.site },
          ok('new'),
          ok('new'),
        );
    for (const n of sorted(xs)) {
      if (!(n in ys)) continue;
      const x = xs[n]!;
      const y = ys[n]!;
      const sites = { old: x.site, new: y.site };
      const isStates = kind === 'enums' && n === stateEnum;
      const isCaps = kind === 'flags' && n === capFlags;
      const memberSets: [string, Record<string, IrMember>, Record<string, IrMember>][] = [
        ['member', x.members, y.members],
      ];
      if (kind === 'flags') memberSets.push(['mask', (x as IrFlags).masks, (y as IrFlags).masks]);
      for (const [what, mx, my] of memberSets) {
        // A member gone from one side and a member new on the other with the same value is a rename:
        // the ABI (the value) is unchanged, the name is a source break. States and capabilities are
        // named by the state machine too: their renames are found and reported with it (renames.ts), and
        // the old side reaches here already in the new names.
        const renamed = new Map<string, string>();
        const isState = (ir: Ir, k: string) => isStates && ir.fsm.states.includes(k);
        if (!isCaps)
          for (const k of sorted(mx)) {
            if (k in my || isState(ctx.a, k)) continue;
            const to = sorted(my).find(
              (j) =>
                !(j in mx) && !isState(ctx.b, j) && ![...renamed.values()].includes(j) && my[j]!.value === mx[k]!.value,
            );
            if (to) renamed.set(k, to);
          }
        for (const [k, j] of renamed)
          add(
            ctx,
            kind === 'enums' ? 'enum.member-renamed' : 'flags.bit-renamed',
            `${n}.${k}`,
            `${word} ${n}: ${what} ${x.prefix}${k} renamed to ${y.prefix}${j} (value ${mx[k]!.value} unchanged)`,
            sites,
            review(
              `ABI-compatible (binaries carry the same value); a source break: code that names ${x.prefix}${k} no longer compiles`,
            ),
            ok('same value; only the name in driver source changes'),
          );
        for (const k of sorted(mx)) {
          const item = `${n}.${k}`;
          if (renamed.has(k)) continue;
          if (!(k in my)) {
            if (isStates && ctx.a.fsm.states.includes(k)) continue; // reported as state.removed
            if (isCaps) {
              add(
                ctx,
                'capability.removed',
                k,
                `capability ${x.prefix}${k} (${mx[k]!.value}) removed`,
                sites,
                breaks('programs that check for it no longer compile, and devices no longer offer it'),
                breaks('drivers advertising it must stop'),
              );
              continue;
            }
            add(
              ctx,
              kind === 'enums' ? 'enum.member-removed' : 'flags.bit-removed',
              item,
              `${word} ${n}: ${what} ${x.prefix}${k} (${mx[k]!.value}) removed`,
              sites,
              breaks('source that names it no longer compiles; the value loses its meaning'),
              review('drivers using the value must change'),
            );
          } else if (mx[k]!.value !== my[k]!.value)
            add(
              ctx,
              kind === 'enums' ? 'enum.value-changed' : 'flags.value-changed',
              item,
              `${word} ${n}: ${x.prefix}${k} ${mx[k]!.value} → ${my[k]!.value}`,
              sites,
              breaks('ABI break: binaries carry the old value'),
              breaks('ABI break'),
            );
          else {
            if (mx[k]!.since !== my[k]!.since)
              add(
                ctx,
                'item.since-changed',
                item,
                `${x.prefix}${k}: since ${mx[k]!.since} → ${my[k]!.since}`,
                sites,
                review('programs that gate on the release must use the new one'),
                ok('release metadata only'),
              );
            if (mx[k]!.doc !== my[k]!.doc)
              add(
                ctx,
                'item.doc-changed',
                item,
                `${x.prefix}${k}: documentation changed`,
                sites,
                ok('documentation only'),
                ok('documentation only'),
                [`old: ${mx[k]!.doc || '(none)'}`, `new: ${my[k]!.doc || '(none)'}`],
              );
          }
        }
        for (const k of sorted(my)) {
          if (k in mx || [...renamed.values()].includes(k)) continue;
          if (isStates && ctx.b.fsm.states.includes(k)) continue; // reported as state.added
          if (isCaps) {
            add(
              ctx,
              'capability.added',
              k,
              `capability ${y.prefix}${k} = ${my[k]!.value} added (since ${my[k]!.since})`,
              sites,
              ok('devices that lack it behave as before; programs opt in by checking it'),
              ok('drivers opt in by advertising it'),
            );
            continue;
          }
          add(
            ctx,
            kind === 'enums' ? 'enum.member-added' : 'flags.bit-added',
            `${n}.${k}`,
            `${word} ${n}: ${what} ${y.prefix}${k} = ${my[k]!.value} added`,
            sites,
            ok('new value'),
            kind === 'flags' ? ok('new bit; drivers that do not know it leave it clear') : ok('new value'),
          );
        }
      }
      common(ctx, word, n, x, y);
    }
  }
}
