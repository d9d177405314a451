import { base, deepFreeze, type ItemBase, type ItemOptions, type Since } from './common.js';
import { compareReleases, RELEASE } from './release.js';
import { callSite, type Site } from './site.js';

/**
 * A name a value had before a release (the whole C name, e.g. `VFIO_DEVICE_STATE_STOP` for what is
 * `VFIO_DEVICE_STATE_V1_STOP` from 5.18). The header-check never dates a header by such a name, since the
 * same name may later mean something else.
 */
export interface FormerName {
  readonly name: string;
  /** First release in which the value no longer has this name. */
  readonly until: Since;
}

/** One named value; `since` defaults to the enclosing item's. */
export interface Member {
  readonly value: number;
  readonly since: Since;
  readonly doc?: string;
  /** Earlier C names of this value, newest first. */
  readonly formerly?: readonly FormerName[];
  readonly site: Site;
}

type MemberInput = number | { value: number; since?: Since; doc?: string; formerly?: FormerName[] };

/** Check and order (newest first) the former names of an item or member. */
export function formerNames(owner: string, since: Since, input: readonly FormerName[] | undefined): FormerName[] {
  const out = [...(input ?? [])];
  for (const f of out) {
    if (!RELEASE.test(f.until)) throw new Error(`${owner}: formerly ${f.name} until "${f.until}" is not a release`);
    if (compareReleases(f.until, since) <= 0)
      throw new Error(`${owner}: formerly ${f.name} until ${f.until}, which is not after since ${since}`);
  }
  return out.sort((a, b) => compareReleases(b.until, a.until));
}

function members(input: Record<string, MemberInput>, since: Since): Record<string, Member> {
  const site = callSite();
  const out: Record<string, Member> = {};
  for (const [k, v] of Object.entries(input)) {
    if (typeof v === 'number') {
      out[k] = { value: v, since, site };
      continue;
    }
    const memberSince = v.since ?? since;
    const formerly = formerNames(k, memberSince, v.formerly);
    out[k] = {
      value: v.value,
      since: memberSince,
      ...(v.doc ? { doc: v.doc } : {}),
      ...(formerly.length ? { formerly } : {}),
      site,
    };
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
export function bit(
  n: number,
  opts?: { since?: Since; doc?: string; formerly?: FormerName[] },
): { value: number; since?: Since; doc?: string; formerly?: FormerName[] } {
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
  /** Earlier C names of this value, newest first. */
  readonly formerly?: readonly FormerName[];
}

export function constant(name: string, value: number, opts: ItemOptions & { formerly?: FormerName[] }): Constant {
  const formerly = formerNames(name, opts.since, opts.formerly);
  return deepFreeze({ kind: 'const', ...base(name, opts), value, ...(formerly.length ? { formerly } : {}) });
}
