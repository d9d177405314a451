/**
 * Kernel fixes as data: a change to what a kernel release does for a request, recorded with the commit
 * that made it and the releases (mainline and stable) that carry it, so tools can pick the behaviour a
 * given kernel has instead of assuming the newest one.
 */
import { deepFreeze, type Since } from './common.js';
import { RELEASE } from './release.js';
import { callSite, type Site } from './site.js';

/** What a kernel does for an affected request: `hang` (never returns), `ok`, or an errno name. */
export type KernelBehaviour = 'hang' | 'ok' | string;

/**
 * A modelled change to the kernel's step algorithm (`vfio_mig_get_next_state`), for the checker that
 * runs kernel tables: `skip-loop-stops-at-error` = the skip loop ends at ERROR, so a blocked entry is
 * refused with EINVAL instead of being looked up forever.
 */
export type StepAlgorithmChange = 'skip-loop-stops-at-error';

export interface KernelCommit {
  /** Abbreviated commit id (12 hex digits, as in a Fixes: tag). */
  readonly commit: string;
  /** The commit's subject line. */
  readonly subject: string;
  /** The first release that carried it. */
  readonly release: Since;
}

export interface KernelFix {
  readonly kind: 'kernelFix';
  /** A stable id other spec items refer to, e.g. `blocked-arc-einval`. */
  readonly name: string;
  /** Abbreviated upstream commit id (12 hex digits). */
  readonly commit: string;
  readonly subject: string;
  /** Author date of the upstream commit (YYYY-MM-DD). */
  readonly date: string;
  /** When it reached mainline (YYYY-MM-DD), if known. */
  readonly merged?: string;
  /**
   * Releases that carry the fix: every mainline release from `mainline` on, and in each listed stable
   * series (`6.12.96` = the 6.12 series) every release from that version on.
   */
  readonly fixedIn: { readonly mainline: Since; readonly stable: readonly string[] };
  /** The commit that introduced the behaviour (its Fixes: tag); releases before it are not affected. */
  readonly fixes?: KernelCommit;
  /** What an affected request gets before the fix, and after it. */
  readonly before: KernelBehaviour;
  readonly after: KernelBehaviour;
  /** One sentence: what changes, for whom. */
  readonly about: string;
  /** The step-algorithm change this fix is, when the table checker models it. */
  readonly stepAlgorithm?: StepAlgorithmChange;
  /** Where each fact comes from (list, date and subject of a mail; a commit and its subject). */
  readonly sources: readonly string[];
  readonly site: Site;
}

const STABLE = /^\d+\.\d+\.\d+$/;
const BEHAVIOUR = /^(hang|ok|E[A-Z0-9]+)$/;

export function kernelFix(
  id: string,
  opts: Omit<KernelFix, 'kind' | 'name' | 'site' | 'fixedIn' | 'sources'> & {
    fixedIn: { mainline: Since; stable?: string[] };
    sources: string[];
  },
): KernelFix {
  const bad = (what: string) => new Error(`kernel fix ${id}: ${what}`);
  if (!/^[0-9a-f]{12}$/.test(opts.commit)) throw bad(`commit "${opts.commit}" is not a 12-digit abbreviated id`);
  if (opts.fixes && !/^[0-9a-f]{12}$/.test(opts.fixes.commit))
    throw bad(`fixes.commit "${opts.fixes.commit}" is not a 12-digit abbreviated id`);
  for (const [k, d] of [
    ['date', opts.date],
    ['merged', opts.merged],
  ] as const)
    if (d !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(d)) throw bad(`${k} "${d}" is not YYYY-MM-DD`);
  if (!RELEASE.test(opts.fixedIn.mainline)) throw bad(`fixedIn.mainline "${opts.fixedIn.mainline}" is not like 7.2`);
  for (const s of opts.fixedIn.stable ?? [])
    if (!STABLE.test(s)) throw bad(`fixedIn.stable "${s}" is not a stable release like 6.12.96`);
  for (const b of [opts.before, opts.after])
    if (!BEHAVIOUR.test(b)) throw bad(`behaviour "${b}" is not hang, ok or an errno name`);
  if (!opts.sources.length) throw bad('name at least one source');
  return deepFreeze({
    kind: 'kernelFix',
    name: id,
    ...opts,
    fixedIn: { mainline: opts.fixedIn.mainline, stable: opts.fixedIn.stable ?? [] },
    site: callSite(),
  });
}
