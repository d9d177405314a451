import type { IrSite } from './types.js';

/** One thing wrong with a spec: where, what, and what to do about it. */
export interface SpecProblem {
  site: IrSite;
  message: string;
  hint: string;
}

export const formatProblem = (p: SpecProblem) => `${p.site.file}:${p.site.line}: ${p.message} — ${p.hint}`;

/** Thrown when a spec cannot be turned into an IR; lists every problem found, each with file:line. */
export class SpecError extends Error {
  constructor(readonly problems: SpecProblem[]) {
    super(`the spec has ${problems.length} problem(s):\n` + problems.map((p) => '  ' + formatProblem(p)).join('\n'));
    this.name = 'SpecError';
  }
}
