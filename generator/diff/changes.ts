/** The vocabulary of a semantic diff: change records, impact levels, and their order. */
import type { IrSite } from '../ir/types.js';

export type Level = 'compatible' | 'needs-review' | 'breaking';
export const LEVELS: readonly Level[] = ['compatible', 'needs-review', 'breaking'];
export const rank = (l: Level) => LEVELS.indexOf(l);
export const worst = (...ls: Level[]): Level => ls.reduce((a, b) => (rank(b) > rank(a) ? b : a), 'compatible');

/** What a change means for one audience, and why. */
export interface Impact {
  level: Level;
  why: string;
}

export interface Change {
  /** The diff rule that fired, e.g. `struct.size-changed`, `rule.valid-states-narrowed`. */
  rule: string;
  /** The spec item: a struct/ioctl/feature name, a rule id, `STATE`, `FROM->TO`, `enum.MEMBER`, `struct.field`. */
  item: string;
  /** One line saying what changed. */
  message: string;
  old?: IrSite;
  new?: IrSite;
  userspace: Impact;
  drivers: Impact;
  /** Worst of the two audiences (before any allow-list). */
  severity: Level;
  /** Set when an allow-list entry approved this change. */
  allowed?: { reason: string; at: string };
  /** Extra detail lines (paths, member lists). */
  details?: string[];
}

export const impact = (level: Level, why: string): Impact => ({ level, why });
export const ok = (why = 'nothing to change'): Impact => impact('compatible', why);
export const review = (why: string): Impact => impact('needs-review', why);
export const breaks = (why: string): Impact => impact('breaking', why);

/** Severity a change counts with for the exit code: an allowed break is reviewed, so it counts as compatible. */
export const effective = (c: Change): Level => (c.allowed ? 'compatible' : c.severity);

/** Exit codes of `vfio-uapi diff`. */
export const EXIT_CODES = {
  none: 0,
  failure: 1,
  usage: 2,
  compatible: 10,
  review: 11,
  breaking: 20,
} as const;

export function exitCodeOf(changes: Change[]): number {
  if (!changes.length) return EXIT_CODES.none;
  const w = worst(...changes.map(effective));
  return w === 'breaking' ? EXIT_CODES.breaking : w === 'needs-review' ? EXIT_CODES.review : EXIT_CODES.compatible;
}
