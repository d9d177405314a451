/**
 * Allow-lists of deliberate breaks, like Android GKI's `allowed_breaks`: one approved change per line,
 *
 *     # rule id                     item                   reason (required)
 *     rule.valid-states-narrowed    precopy.valid_states   agreed on list, 2022-03-01: STOP_COPY numbers mean nothing
 *
 * `*` in the rule id or item matches any run of characters. A `.json` file may instead hold
 * `[{ "rule": ..., "item": ..., "reason": ... }]`. Approved changes are reported as allowed and do not
 * make the exit code "breaking"; entries that match nothing are reported as stale.
 */
import { readFileSync } from 'node:fs';
import type { Change } from './changes.js';

export interface AllowEntry {
  rule: string;
  item: string;
  reason: string;
  /** file:line of the entry. */
  at: string;
}

export class AllowListError extends Error {}

export function parseAllowList(text: string, file: string): AllowEntry[] {
  if (file.endsWith('.json')) {
    const raw = JSON.parse(text) as { rule?: string; item?: string; reason?: string }[];
    if (!Array.isArray(raw)) throw new AllowListError(`${file}: expected an array of {rule, item, reason}`);
    return raw.map((e, i) => {
      if (!e.rule || !e.item || !e.reason?.trim())
        throw new AllowListError(`${file}: entry ${i} needs rule, item and a reason`);
      return { rule: e.rule, item: e.item, reason: e.reason.trim(), at: `${file}#${i}` };
    });
  }
  const out: AllowEntry[] = [];
  text.split('\n').forEach((line, i) => {
    const t = line.replace(/(^|\s)#.*$/, '').trim();
    if (!t) return;
    const m = /^(\S+)\s+(\S+)\s+(.+)$/.exec(t);
    if (!m) throw new AllowListError(`${file}:${i + 1}: expected "RULE-ID ITEM REASON" (a reason is required)`);
    out.push({ rule: m[1]!, item: m[2]!, reason: m[3]!.trim(), at: `${file}:${i + 1}` });
  });
  return out;
}

export function loadAllowList(file: string): AllowEntry[] {
  return parseAllowList(readFileSync(file, 'utf8'), file);
}

const glob = (pattern: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );

/** Mark approved changes; return the entries that matched nothing. */
export function applyAllowList(changes: Change[], entries: AllowEntry[]): AllowEntry[] {
  const used = new Set<AllowEntry>();
  for (const c of changes) {
    if (c.severity === 'compatible') continue;
    const e = entries.find((e) => glob(e.rule).test(c.rule) && glob(e.item).test(c.item));
    if (e) {
      c.allowed = { reason: e.reason, at: e.at };
      used.add(e);
    }
  }
  return entries.filter((e) => !used.has(e));
}
