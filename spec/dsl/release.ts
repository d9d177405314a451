/** Kernel releases as the spec writes them, and their order. Shared by the DSL's checks and the generator. */

/** A release the spec names: major.minor, such as '6.2'. */
export const RELEASE = /^\d+\.\d+$/;

/** "6.12" → [6, 12]; a part that is not a number counts as 0. */
export function releaseParts(r: string): number[] {
  return r.split('.').map((p) => Number.parseInt(p, 10) || 0);
}

/** Order releases numerically ('6.10' after '6.9', '6.1.23' after '6.1'); a missing part counts as 0. */
export function compareReleases(a: string, b: string): number {
  return compareParts(releaseParts(a), releaseParts(b));
}

/** The same order over releases already split into numbers. */
export function compareParts(x: readonly number[], y: readonly number[]): number {
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d) return d;
  }
  return 0;
}
