/** Render a diff as text, Markdown (mailing-list reply / PR comment) or JSON. */
import type { IrFsm, IrSite } from '../ir/types.js';
import type { AllowEntry } from './allow.js';
import { effective, exitCodeOf, rank, type Change, type Level } from './changes.js';
import { mermaid } from './diagram.js';

export interface DiffResult {
  /** `commit`/`subject`: set when the side is a git revision. */
  old: { label: string; fsm: IrFsm; commit?: string; subject?: string };
  new: { label: string; fsm: IrFsm; commit?: string; subject?: string };
  changes: Change[];
  staleAllows: AllowEntry[];
  /** Relative path of an SVG overlay of both state machines, when one was written. */
  fsmSvg?: string;
}

const site = (s?: IrSite) => (s ? `${s.file}:${s.line}` : '-');
const TITLES: Record<Level | 'allowed', string> = {
  breaking: 'Breaking',
  'needs-review': 'Needs review',
  compatible: 'Compatible',
  allowed: 'Allowed breaks (approved in the allow-list)',
};

/** Changes grouped for display: unapproved by severity (worst first), then allowed ones. */
export function groups(changes: Change[]): [Level | 'allowed', Change[]][] {
  const out: [Level | 'allowed', Change[]][] = [];
  for (const l of ['breaking', 'needs-review', 'compatible'] as Level[]) {
    const cs = changes.filter((c) => !c.allowed && c.severity === l);
    if (cs.length) out.push([l, cs]);
  }
  const allowed = changes.filter((c) => c.allowed);
  if (allowed.length) out.push(['allowed', allowed]);
  return out;
}

export function summary(changes: Change[]) {
  const count = (l: Level) => changes.filter((c) => !c.allowed && c.severity === l).length;
  return {
    total: changes.length,
    breaking: count('breaking'),
    needsReview: count('needs-review'),
    compatible: count('compatible'),
    allowed: changes.filter((c) => c.allowed).length,
    userspace: worstOf(changes, 'userspace'),
    drivers: worstOf(changes, 'drivers'),
    exitCode: exitCodeOf(changes),
  };
}

function worstOf(changes: Change[], who: 'userspace' | 'drivers'): Level | 'none' {
  let w: Level | 'none' = 'none';
  for (const c of changes) {
    const l = c.allowed ? 'compatible' : c[who].level;
    if (w === 'none' || rank(l) > rank(w)) w = l;
  }
  return w;
}

const fsmChanged = (cs: Change[]) => cs.some((c) => /^(fsm|state|capability)\./.test(c.rule));

function headline(r: DiffResult) {
  const s = summary(r.changes);
  if (!s.total) return 'no semantic changes';
  return `${s.total} change(s): ${s.breaking} breaking, ${s.needsReview} needing review, ${s.compatible} compatible${s.allowed ? `, ${s.allowed} allowed` : ''} — userspace: ${s.userspace}, drivers: ${s.drivers}`;
}

export function renderText(r: DiffResult): string {
  const out = [`vfio-uapi diff`, `  old: ${r.old.label}`, `  new: ${r.new.label}`, headline(r), ''];
  for (const [g, cs] of groups(r.changes)) {
    out.push(`${TITLES[g].toUpperCase()} (${cs.length})`);
    for (const c of cs) {
      out.push(`  [${c.rule}] ${c.item}`, `    ${c.message}`);
      out.push(`    userspace: ${c.userspace.level} — ${c.userspace.why}`);
      out.push(`    drivers:   ${c.drivers.level} — ${c.drivers.why}`);
      if (c.allowed) out.push(`    allowed:   ${c.allowed.reason} (${c.allowed.at})`);
      for (const d of c.details ?? []) out.push(`      ${d}`);
      out.push(`    old: ${site(c.old)}   new: ${site(c.new)}`);
    }
    out.push('');
  }
  for (const e of r.staleAllows) out.push(`warning: allow-list entry ${e.at} (${e.rule} ${e.item}) matched no change`);
  return out.join('\n').trimEnd() + '\n';
}

const md = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderMarkdown(r: DiffResult): string {
  const s = summary(r.changes);
  const out = [
    `## uAPI diff: ${r.old.label} → ${r.new.label}`,
    '',
    s.total
      ? `**${s.total} change(s)**: ${s.breaking} breaking, ${s.needsReview} needing review, ${s.compatible} compatible${s.allowed ? `, ${s.allowed} allowed break(s)` : ''}. Worst for **userspace**: ${s.userspace}; for **drivers**: ${s.drivers}.`
      : 'No semantic changes.',
    '',
  ];
  for (const [g, cs] of groups(r.changes)) {
    out.push(`### ${TITLES[g]} (${cs.length})`, '');
    out.push('| change | item | what | userspace | drivers | old | new |', '|---|---|---|---|---|---|---|');
    for (const c of cs)
      out.push(
        `| \`${c.rule}\` | \`${md(c.item)}\` | ${md(c.message)}${c.allowed ? ` — *allowed: ${md(c.allowed.reason)}*` : ''} | **${c.userspace.level}**: ${md(c.userspace.why)} | **${c.drivers.level}**: ${md(c.drivers.why)} | ${site(c.old)} | ${site(c.new)} |`,
      );
    const detailed = cs.filter((c) => c.details?.length);
    if (detailed.length) {
      out.push('');
      for (const c of detailed) {
        out.push(
          `<details><summary><code>${c.rule}</code> ${c.item}</summary>`,
          '',
          '```',
          ...c.details!,
          '```',
          '</details>',
          '',
        );
      }
    }
    out.push('');
  }
  if (fsmChanged(r.changes)) {
    out.push('### State machine', '');
    if (r.fsmSvg) out.push(`![both state machines: added green, removed red](${r.fsmSvg})`, '');
    out.push('<details><summary>old</summary>', '', '```mermaid', mermaid(r.old.fsm), '```', '</details>', '');
    out.push('<details><summary>new</summary>', '', '```mermaid', mermaid(r.new.fsm), '```', '</details>', '');
  }
  for (const e of r.staleAllows)
    out.push(`> warning: allow-list entry ${e.at} (\`${e.rule}\` \`${e.item}\`) matched no change`);
  return out.join('\n').trimEnd() + '\n';
}

export function renderJson(r: DiffResult): string {
  return (
    JSON.stringify(
      {
        old: r.old.label,
        new: r.new.label,
        sides: Object.fromEntries(
          (['old', 'new'] as const).map((k) => [
            k,
            {
              label: r[k].label,
              ...(r[k].commit ? { commit: r[k].commit!.slice(0, 12), subject: r[k].subject } : {}),
            },
          ]),
        ),
        summary: summary(r.changes),
        changes: r.changes.map((c) => ({ ...c, effective: effective(c) })),
        staleAllows: r.staleAllows,
        ...(r.fsmSvg ? { fsmSvg: r.fsmSvg } : {}),
      },
      null,
      2,
    ) + '\n'
  );
}
