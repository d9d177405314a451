/**
 * Which kernel releases carry a kernel fix, and what an affected request gets there. A release is
 * "fixed" when it is at least the fix's mainline release, or in one of its stable series at or after the
 * listed version; releases before the commit that introduced the behaviour were never affected.
 */
import { compareParts } from '../../spec/dsl/release.js';
import type { IrKernelFix } from '../ir/types.js';

/** A kernel release as numbers: `6.12.96+deb13-amd64` → [6, 12, 96]; `7.2-rc1` → [7, 2, 0]. */
export function parseRelease(release: string): [number, number, number] | null {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?(?:$|[-+~_.\s])/.exec(release.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : null;
}

export type FixStatus =
  /** The release carries the fix: requests get `after`. */
  | 'fixed'
  /** The release has the behaviour and not the fix: requests get `before`. */
  | 'affected'
  /** The release predates the behaviour (before `fixes.release`). */
  | 'unaffected';

/** Where a release stands for a fix; throws when the release cannot be read. */
export function fixStatus(fix: Pick<IrKernelFix, 'fixedIn' | 'fixes'>, release: string): FixStatus {
  const r = parseRelease(release);
  if (!r) throw new Error(`"${release}" is not a kernel release like 6.12.96 or 7.2`);
  if (fix.fixes) {
    const intro = parseRelease(fix.fixes.release)!;
    if (compareParts(r.slice(0, 2), intro.slice(0, 2)) < 0) return 'unaffected';
  }
  const mainline = parseRelease(fix.fixedIn.mainline)!;
  if (compareParts(r.slice(0, 2), mainline.slice(0, 2)) >= 0) return 'fixed';
  for (const s of fix.fixedIn.stable) {
    const st = parseRelease(s)!;
    if (r[0] === st[0] && r[1] === st[1] && r[2] >= st[2]) return 'fixed';
  }
  return 'affected';
}

/** What an affected request gets on this release: the fix's `before` or `after` (`ok` when unaffected). */
export function behaviourOn(fix: IrKernelFix, release: string): string {
  const s = fixStatus(fix, release);
  return s === 'fixed' ? fix.after : s === 'affected' ? fix.before : 'unaffected';
}

/** A stable release that carries a fix, in words: "6.12.96 and later in 6.12". */
const stableAndLater = (s: string) => `${s} and later in ${s.split('.').slice(0, 2).join('.')}`;

/** The releases that carry a fix, in words: "7.2 and later, 6.12.96 and later in 6.12". */
export function fixedReleases(fix: Pick<IrKernelFix, 'fixedIn'>): string {
  return [`${fix.fixedIn.mainline} and later`, ...fix.fixedIn.stable.map(stableAndLater)].join(', ');
}

/** The releases that still have the old behaviour, in words: "6.2 to 7.1, except 6.12.96 and later in 6.12". */
export function affectedReleases(fix: Pick<IrKernelFix, 'fixedIn' | 'fixes'>): string {
  const [maj, min] = parseRelease(fix.fixedIn.mainline)!;
  const last = min > 0 ? `${maj}.${min - 1}` : `before ${fix.fixedIn.mainline}`;
  const from = fix.fixes ? `${fix.fixes.release} to ${last}` : `releases before ${fix.fixedIn.mainline}`;
  return fix.fixedIn.stable.length ? `${from}, except ${fix.fixedIn.stable.map(stableAndLater).join(', ')}` : from;
}

/** The kernel fix that changed the step algorithm of `vfio_mig_get_next_state`, when the spec records one. */
export function stepAlgorithmFix(fixes: readonly IrKernelFix[]): IrKernelFix | undefined {
  return fixes.find((f) => f.stepAlgorithm === 'skip-loop-stops-at-error');
}

/** Which step algorithm a release runs: `stops-at-error` once it carries the fix, `original` before. */
export function stepAlgorithmOf(fixes: readonly IrKernelFix[], release: string): 'original' | 'stops-at-error' {
  const fix = stepAlgorithmFix(fixes);
  if (!fix) {
    if (!parseRelease(release)) throw new Error(`"${release}" is not a kernel release like 6.12.96 or 7.2`);
    return 'original';
  }
  return fixStatus(fix, release) === 'fixed' ? 'stops-at-error' : 'original';
}

/** One line naming a step algorithm and the releases that run it. */
export function describeStepAlgorithm(fixes: readonly IrKernelFix[], algorithm: 'original' | 'stops-at-error'): string {
  const fix = stepAlgorithmFix(fixes);
  if (!fix)
    return algorithm === 'original'
      ? 'the original step algorithm (the skip loop stops only at a state the device has)'
      : 'the step algorithm whose skip loop also stops at ERROR';
  return algorithm === 'original'
    ? `the step algorithm before ${fix.commit} (${affectedReleases(fix)})`
    : `the step algorithm since ${fix.commit} "${fix.subject}" (${fixedReleases(fix)})`;
}
