import { RELEASE } from './release.js';
import { callSite, type Site } from './site.js';

/** A Linux release such as '6.2' — the first release that carries an item. */
export type Since = string;

/** Options every spec item accepts. */
export interface ItemOptions {
  /** First kernel release with this item. */
  since: Since;
  /** Doc text; normally taken from the JSDoc above the declaration by the loader. */
  doc?: string;
}

/** Fields shared by every spec item. */
export interface ItemBase {
  readonly name: string;
  readonly since: Since;
  readonly doc?: string;
  readonly site: Site;
}

export function base(name: string, opts: ItemOptions): ItemBase {
  if (!RELEASE.test(opts.since)) {
    throw new Error(`spec item ${name}: since "${opts.since}" is not a kernel release like "6.2"`);
  }
  return { name, since: opts.since, ...(opts.doc ? { doc: opts.doc } : {}), site: callSite() };
}

/** Recursively freeze a spec value so generated code can trust it. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}
