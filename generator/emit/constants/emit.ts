import type { Ir } from '../../ir/types.js';
import type { GeneratedFile } from '../index.js';
import { pascal, specSources } from '../shared/naming.js';
import { render, tsHeader } from '../shared/render.js';

const here = new URL('.', import.meta.url).pathname;
const oneLine = (s: string) => s.replace(/\*\//g, '*\\/').replace(/\s*\n\s*/g, ' ');
const lit = (v: number) => (v < 0 ? String(v) : '0x' + v.toString(16));

export function emit(ir: Ir): GeneratedFile[] {
  const constants = Object.entries(ir.constants).map(([name, value]) => ({
    name,
    value: lit(value),
    doc: oneLine(ir.constantInfo[name]?.doc ?? ''),
    since: ir.constantInfo[name]?.since ?? '',
  }));
  const groups = [
    ...Object.entries(ir.enums).map(([n, e]) => ({
      kind: 'enumeration',
      cName: n,
      P: pascal(n),
      doc: oneLine(e.doc),
      members: Object.entries(e.members).map(([k, m]) => ({ k, v: lit(m.value) })),
      mask: null as string | null,
    })),
    ...Object.entries(ir.flags).map(([n, f]) => ({
      kind: 'flag set',
      cName: n,
      P: pascal(n),
      doc: oneLine(f.doc),
      members: Object.entries(f.members).map(([k, m]) => ({ k, v: lit(m.value) })),
      mask: lit(
        Object.values(f.members).reduce((a, m) => a | m.value, 0) |
          Object.values(f.masks).reduce((a, m) => a | m.value, 0),
      ),
    })),
  ];
  const ioctls = Object.entries(ir.ioctls).map(([name, i]) => ({
    name,
    generic: lit(i.numberByArch.generic),
    powerpc: lit(i.numberByArch.powerpc),
    fd: i.fd,
    doc: oneLine(i.doc),
    since: i.since,
  }));
  const features = Object.entries(ir.features).map(([name, f]) => ({
    name,
    info: JSON.stringify({ ...f, doc: undefined, site: undefined }),
  }));
  const header = tsHeader('constants', specSources(ir.meta.specFiles));
  return [
    {
      path: 'generated/constants.ts',
      content: render(here, 'constants', {
        header,
        constants,
        groups,
        ioctls,
        features,
        states: JSON.stringify(ir.fsm.states),
      }),
    },
  ];
}
