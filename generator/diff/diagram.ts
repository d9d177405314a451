/** State-machine diagrams for a diff: Mermaid per side (Markdown), and a Graphviz overlay of both rendered to SVG. */
import type { IrArc, IrFsm } from '../ir/types.js';

const cond = (a: IrArc) =>
  [a.when.length ? a.when.join('+') : '', a.unless.length ? `no ${a.unless.join('+')}` : ''].filter(Boolean).join(', ');
const arcKey = (a: IrArc) => `${a.from}->${a.to}|${a.when.join('+')}|${a.unless.join('+')}`;

export function mermaid(fsm: IrFsm): string {
  const lines = ['stateDiagram-v2', `  [*] --> ${fsm.initial}`];
  for (const a of fsm.arcs) {
    const label = [cond(a), a.fd !== 'none' ? a.fd : ''].filter(Boolean).join('; ');
    lines.push(`  ${a.from} --> ${a.to}${label ? ` : ${label}` : ''}`);
  }
  for (const f of fsm.forbidden) {
    const cond = [
      f.when.length ? `with ${f.when.join('+')}` : '',
      f.unless.length ? `unless ${f.unless.join('+')}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    lines.push(`  note right of ${f.from} : ${f.from} to ${f.to} forbidden (${f.errno})${cond ? ` ${cond}` : ''}`);
  }
  return lines.join('\n');
}

/** Both sides in one graph: added states and arcs green, removed red and dashed, the rest black. */
export function diffDot(old: IrFsm, neu: IrFsm): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = [
    'digraph fsm_diff {',
    '  rankdir=LR; node [shape=box, style=rounded, fontname="Helvetica"]; edge [fontname="Helvetica", fontsize=10];',
  ];
  const states = [...new Set([...old.states, ...neu.states])];
  for (const s of states) {
    const inOld = old.states.includes(s);
    const inNew = neu.states.includes(s);
    const attr = !inOld
      ? ', color="#1a7f37", fontcolor="#1a7f37", penwidth=2'
      : !inNew
        ? ', color="#cf222e", fontcolor="#cf222e", style="rounded,dashed"'
        : '';
    lines.push(`  ${q(s)} [label=${q(s + (!inOld ? ' (new)' : !inNew ? ' (removed)' : ''))}${attr}];`);
  }
  const ko = new Map(old.arcs.map((a) => [arcKey(a), a]));
  const kn = new Map(neu.arcs.map((a) => [arcKey(a), a]));
  for (const k of [...new Set([...ko.keys(), ...kn.keys()])]) {
    const a = (kn.get(k) ?? ko.get(k))!;
    const attr = !ko.has(k)
      ? ', color="#1a7f37", fontcolor="#1a7f37", penwidth=2'
      : !kn.has(k)
        ? ', color="#cf222e", fontcolor="#cf222e", style=dashed'
        : '';
    const label = cond(a);
    lines.push(`  ${q(a.from)} -> ${q(a.to)} [label=${q(label)}${attr}];`);
  }
  lines.push('}');
  return lines.join('\n');
}

export async function renderSvg(dot: string): Promise<string> {
  const { instance } = await import('@viz-js/viz');
  const viz = await instance();
  return viz.renderString(dot, { format: 'svg' });
}
