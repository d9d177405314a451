/** Semantic diff of two spec revisions: load both sides, compare their IRs, apply an allow-list. */
import { applyAllowList, loadAllowList, type AllowEntry } from './allow.js';
import { diffIr } from './diff.js';
import { loadSide, resolveSide, type Side } from './load.js';
import type { DiffResult } from './report.js';

export * from './changes.js';
export { diffIr } from './diff.js';
export { parseAllowList, applyAllowList, loadAllowList, type AllowEntry } from './allow.js';
export { resolveSide, loadSide, type Side } from './load.js';
export { renderText, renderMarkdown, renderJson, summary, type DiffResult } from './report.js';
export { normaliseOverlay, projectAsOf } from './project.js';

export interface DiffOptions {
  docs?: boolean;
  allow?: AllowEntry[] | string;
}

/** Compare two loaded sides. */
export function diffSides(a: Side, b: Side, opts: DiffOptions = {}): DiffResult {
  const changes = diffIr(a.ir, b.ir);
  const entries = typeof opts.allow === 'string' ? loadAllowList(opts.allow) : (opts.allow ?? []);
  const staleAllows = applyAllowList(changes, entries);
  const side = (s: Side) => ({
    label: s.label,
    fsm: s.ir.fsm,
    ...(s.commit ? { commit: s.commit, ...(s.subject ? { subject: s.subject } : {}) } : {}),
  });
  return { old: side(a), new: side(b), changes, staleAllows };
}

/** Resolve, load and compare two arguments (paths or git revisions). */
export async function diffSpecs(oldArg: string, newArg: string, opts: DiffOptions = {}): Promise<DiffResult> {
  const docs = opts.docs ?? true;
  const a = await loadSide(resolveSide(oldArg), { docs });
  const b = await loadSide(resolveSide(newArg), { docs });
  return diffSides(a, b, opts);
}
