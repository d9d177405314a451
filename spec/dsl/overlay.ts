/**
 * Overlays: a spec revision written as a small module on top of another spec.
 *
 * An overlay does `export * from '<base spec>/index.js'`, then exports replacements under the same
 * export names (an explicit export wins over a star export in ESM), marks removals with `removed()`,
 * and may describe itself with `revision()`. Markers are not spec items (they carry no `site`), so
 * the IR loader skips them; `vfio-uapi diff` also applies `revision({ asOf })`.
 */
import type { Since } from './common.js';
import { RELEASE } from './release.js';

/** Shadows an export of the base spec: the item does not exist in this revision. */
export interface Removed {
  readonly kind: 'removed';
  readonly note?: string;
}

/** Mark an export of the base spec as absent from this revision. */
export function removed(note?: string): Removed {
  return Object.freeze({ kind: 'removed', ...(note ? { note } : {}) });
}

/** Describes a spec revision: its label in reports, and optionally the release it reproduces. */
export interface Revision {
  readonly kind: 'revision';
  readonly label: string;
  /**
   * Keep only what existed in this release: items, members, fields, arcs and rules whose `since`
   * is later are dropped (and what only they referenced), and fields renamed or retyped later (`was`)
   * take the name and type they had then, as `vfio-uapi diff` loads the module. A release before the
   * state machine (5.18) cannot be projected: the spec needs one.
   */
  readonly asOf?: Since;
}

export function revision(opts: { label: string; asOf?: Since }): Revision {
  if (opts.asOf !== undefined && !RELEASE.test(opts.asOf))
    throw new Error(`revision ${opts.label}: asOf "${opts.asOf}" is not a kernel release like "6.2"`);
  return Object.freeze({ kind: 'revision', label: opts.label, ...(opts.asOf ? { asOf: opts.asOf } : {}) });
}
