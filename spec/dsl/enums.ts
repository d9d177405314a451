import { base, deepFreeze, type ItemBase, type ItemOptions, type Since } from './common.js';
import { callSite, type Site } from './site.js';

/** One named value; `since` defaults to the enclosing item's. */
export interface Member {
  readonly value: number;
  readonly since: Since;
  readonly doc?: string;
  readonly site: Site;
}

type MemberInput = number | { value: number; since?: Since; doc?: string };

function members(input: Record<string, MemberInput>, since: Since): Record<string, Member> {
  const site = callSite();
  const out: Record<string, Member> = {};
  for (const [k, v] of Object.entries(input)) {
    out[k] =
      typeof v === 'number'
        ? { value: v, since, site }
        : { value: v.value, since: v.since ?? since, ...(v.doc ? { doc: v.doc } : {}), site };
  }
  return out;
}

export interface Enumeration<K extends string = string> extends ItemBase {
  readonly kind: 'enum';
  /** C prefix of each member macro/enumerator, e.g. `VFIO_DEVICE_STATE_`. */
  readonly prefix: string;
  readonly members: Readonly<Record<K, Member>>;
}

export function enumeration<K extends string>(
  name: string,
  values: Record<K, MemberInput>,
  opts: ItemOptions & { prefix: string },
): Enumeration<K> {
  return deepFreeze({
    kind: 'enum',
    ...base(name, opts),
    prefix: opts.prefix,
    members: members(values, opts.since) as Record<K, Member>,
  });
}

/** A member of a flag set: a bit number. */
export function bit(n: number, opts?: { since?: Since; doc?: string }): { value: number; since?: Since; doc?: string } {
  return { value: 2 ** n, ...opts };
}

export interface FlagSet<K extends string = string> extends ItemBase {
  readonly kind: 'flags';
  readonly prefix: string;
  readonly members: Readonly<Record<K, Member>>;
  /** Named multi-bit fields inside the same word (e.g. the feature index mask). */
  readonly masks: Readonly<Record<string, Member>>;
}

export function flags<K extends string>(
  name: string,
  bits: Record<K, MemberInput>,
  opts: ItemOptions & { prefix: string; masks?: Record<string, MemberInput> },
): FlagSet<K> {
  return deepFreeze({
    kind: 'flags',
    ...base(name, opts),
    prefix: opts.prefix,
    members: members(bits, opts.since) as Record<K, Member>,
    masks: members(opts.masks ?? {}, opts.since),
  });
}

export interface Constant extends ItemBase {
  readonly kind: 'const';
  readonly value: number;
}

export function constant(name: string, value: number, opts: ItemOptions): Constant {
  return deepFreeze({ kind: 'const', ...base(name, opts), value });
}
