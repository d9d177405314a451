import type { Ir, IrType } from '../../ir/types.js';
import type { GeneratedFile } from '../index.js';
import { pascal, specSources } from '../shared/naming.js';
import { render, tsHeader } from '../shared/render.js';

const here = new URL('.', import.meta.url).pathname;

const KOFFI_SCALAR: Record<string, string> = {
  u8: "'uint8_t'",
  u16: "'uint16_t'",
  u32: "'uint32_t'",
  u64: "'uint64_t'",
  s8: "'int8_t'",
  s16: "'int16_t'",
  s32: "'int32_t'",
  s64: "'int64_t'",
};

/** koffi type expression for a field type (flexible arrays have no koffi form and are left out). */
function koffiType(t: IrType, align8: boolean): string {
  switch (t.kind) {
    case 'scalar':
      // [8, 'uint64_t'] pins __aligned_u64 to 8 bytes on every ABI, as the header does.
      return t.forceAlign8 || align8 ? `[8, ${KOFFI_SCALAR[t.scalar]}]` : KOFFI_SCALAR[t.scalar]!;
    case 'array':
      return `koffi.array(${koffiType(t.element, false)}, ${t.length})`;
    case 'struct':
      return `Koffi${pascal(t.struct)}`;
    case 'union':
      return `koffi.union({ ${t.members.map((m) => `${m.name}: ${koffiType(m.ir, false)}`).join(', ')} })`;
    case 'flex':
      throw new Error('flexible arrays have no koffi type');
  }
}

export function emit(ir: Ir): GeneratedFile[] {
  const structs = Object.entries(ir.structs).map(([name, s]) => {
    const fixed = s.fields.filter((f) => f.ir.kind !== 'flex');
    const alignWithout = Math.max(1, ...fixed.map((f) => f.align));
    // koffi has no zero-length arrays: when a flexible array is what makes the struct 8-aligned,
    // put that alignment on the first field (offset 0 moves nowhere) so size and alignment still match C.
    const needAlign = s.align > alignWithout;
    const members = fixed.map(
      (f, i) =>
        `${f.name}: ${needAlign && i === 0 ? `[${s.align}, ${koffiType(f.ir, false)}]` : koffiType(f.ir, false)}`,
    );
    return { cName: name, P: pascal(name), members: members.join(', '), hasFlex: fixed.length !== s.fields.length };
  });
  const ioctls = Object.entries(ir.ioctls).map(([name, i]) => {
    const s = i.arg.kind === 'struct' ? ir.structs[i.arg.struct!]! : null;
    return {
      name,
      number: '0x' + i.number.toString(16),
      kind: i.arg.kind,
      struct: i.arg.struct ?? '',
      P: i.arg.struct ? pascal(i.arg.struct) : '',
      size: s?.size ?? 0,
      plainStruct: s !== null && !s.fields.some((f) => f.ir.kind === 'flex'),
      returnsFd: i.returnsFd ?? '',
      doc: i.doc.replace(/\s*\n\s*/g, ' '),
    };
  });
  const header = tsHeader('koffi bindings', specSources(ir.meta.specFiles));
  return [{ path: 'generated/koffi.ts', content: render(here, 'koffi', { header, structs, ioctls }) }];
}
