import { deepFreeze } from './common.js';
import { callSite, type Site } from './site.js';

/** Header items the spec deliberately does not describe, each group with the reason. */
export interface OutOfScope {
  readonly kind: 'outOfScope';
  readonly groups: readonly { readonly reason: string; readonly names: readonly string[] }[];
  readonly site: Site;
}

/**
 * The one list of header items (macros, enumerators, structs, by their C names) the spec leaves out on
 * purpose. header-check counts an item of <linux/vfio.h> or <linux/iommufd.h> as unknown unless the spec
 * describes it or this list names it; a spec module exports at most one such list.
 */
export function outOfScope(groups: { reason: string; names: string[] }[]): OutOfScope {
  for (const g of groups) {
    if (!g.reason.trim()) throw new Error(`outOfScope: a group without a reason (${g.names.slice(0, 3).join(', ')}…)`);
    if (!g.names.length) throw new Error(`outOfScope: the group "${g.reason}" names nothing`);
  }
  return deepFreeze({ kind: 'outOfScope', groups, site: callSite() });
}
