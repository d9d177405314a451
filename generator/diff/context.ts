/** What every part of the semantic diff shares: the two IRs, what is new or gone, and how a change is recorded. */
import type { Ir, IrItem, IrSite } from '../ir/types.js';
import { ok, review, worst, type Change, type Impact } from './changes.js';

export const eq = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
export const list = (xs: Iterable<string>) => [...xs].join(', ');
export const sorted = <T>(o: Record<string, T>) => Object.keys(o).sort();

export interface Ctx {
  a: Ir;
  b: Ir;
  out: Change[];
  /** States, capabilities and operations that exist only in the new side. */
  newStates: Set<string>;
  newCaps: Set<string>;
  newOps: Set<string>;
  goneStates: Set<string>;
  goneCaps: Set<string>;
  goneOps: Set<string>;
}

export function add(
  ctx: Ctx,
  rule: string,
  item: string,
  message: string,
  sites: { old?: IrSite | undefined; new?: IrSite | undefined },
  userspace: Impact,
  drivers: Impact,
  details?: string[],
) {
  ctx.out.push({
    rule,
    item,
    message,
    ...(sites.old ? { old: sites.old } : {}),
    ...(sites.new ? { new: sites.new } : {}),
    userspace,
    drivers,
    severity: worst(userspace.level, drivers.level),
    ...(details?.length ? { details } : {}),
  });
}

/** since and doc of any item. `docRule` replaces item.doc-changed where the doc is the meaning. */
export function common(ctx: Ctx, what: string, item: string, x: IrItem, y: IrItem, docMeaning = false) {
  const sites = { old: x.site, new: y.site };
  if (x.since !== y.since)
    add(
      ctx,
      'item.since-changed',
      item,
      `${what} ${item}: since ${x.since} → ${y.since}`,
      sites,
      review('programs that gate on the kernel release to use it must use the new release'),
      ok('release metadata only'),
    );
  if ((x.doc ?? '') !== (y.doc ?? '')) {
    if (docMeaning)
      add(
        ctx,
        'rule.behaviour-changed',
        item,
        `${what} ${item}: the stated behaviour changed`,
        sites,
        review('the behaviour is defined by this text; check callers against the new wording'),
        review('the behaviour is defined by this text; check drivers against the new wording'),
        [`old: ${x.doc || '(none)'}`, `new: ${y.doc || '(none)'}`],
      );
    else
      add(
        ctx,
        'item.doc-changed',
        item,
        `${what} ${item}: documentation changed`,
        sites,
        ok('documentation only'),
        ok('documentation only'),
        [`old: ${x.doc || '(none)'}`, `new: ${y.doc || '(none)'}`],
      );
  }
}

/** Items of two records by name: those only in the old one, then those only in the new one, then those in both. */
export function keyed<T>(
  xs: Record<string, T>,
  ys: Record<string, T>,
  onRemoved: (name: string, t: T) => void,
  onAdded: (name: string, t: T) => void,
  onBoth: (name: string, x: T, y: T) => void,
) {
  for (const n of sorted(xs)) if (!(n in ys)) onRemoved(n, xs[n]!);
  for (const n of sorted(ys)) if (!(n in xs)) onAdded(n, ys[n]!);
  for (const n of sorted(xs)) if (n in ys) onBoth(n, xs[n]!, ys[n]!);
}
