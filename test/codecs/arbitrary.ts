import fc from 'fast-check';
import type { Ir, IrStruct, IrType } from '../../generator/ir/types.js';

const INT_RANGES: Record<string, [number, number]> = {
  u8: [0, 0xff],
  u16: [0, 0xffff],
  u32: [0, 0xffffffff],
  s8: [-0x80, 0x7f],
  s16: [-0x8000, 0x7fff],
  s32: [-0x80000000, 0x7fffffff],
};

/** Random values of a field type, with the 64-bit extremes weighted in. */
export function arbitraryOf(t: IrType, ir: Ir): fc.Arbitrary<unknown> {
  switch (t.kind) {
    case 'scalar':
      if (t.scalar === 'u64')
        return fc.oneof(
          fc.constantFrom(0n, 1n, 2n ** 63n, 2n ** 64n - 1n),
          fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        );
      if (t.scalar === 's64')
        return fc.oneof(
          fc.constantFrom(-(2n ** 63n), -1n, 0n, 2n ** 63n - 1n),
          fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        );
      {
        const [min, max] = INT_RANGES[t.scalar]!;
        return fc.oneof(fc.constantFrom(min, max, 0), fc.integer({ min, max }));
      }
    case 'array':
      return fc.array(arbitraryOf(t.element, ir), { minLength: t.length, maxLength: t.length });
    case 'flex':
      return fc.array(arbitraryOf(t.element, ir), { maxLength: 4 });
    case 'struct':
      return arbitraryStruct(ir.structs[t.struct]!, ir);
    case 'union': {
      const first = t.members[0]!;
      return arbitraryOf(first.ir, ir).map((v) => ({ [first.name]: v }));
    }
  }
}

/** Random values of a whole struct; a counted flexible array gets a matching count. */
export function arbitraryStruct(s: IrStruct, ir: Ir): fc.Arbitrary<Record<string, unknown>> {
  const rec = fc.record(Object.fromEntries(s.fields.map((f) => [f.name, arbitraryOf(f.ir, ir)])));
  return rec.map((v) => {
    for (const f of s.fields)
      if (f.ir.kind === 'flex' && f.ir.countedBy) v[f.ir.countedBy] = (v[f.name] as unknown[]).length;
    return v;
  });
}

/** Bytes a value of the struct needs, including its flexible array. */
export function encodedSize(s: IrStruct, value: Record<string, unknown>, ir: Ir): number {
  const flex = s.fields.find((f) => f.ir.kind === 'flex');
  if (!flex || flex.ir.kind !== 'flex') return s.size;
  const el = flex.ir.element;
  const elSize = el.kind === 'struct' ? ir.structs[el.struct]!.size : el.kind === 'scalar' ? el.size : 0;
  return Math.max(s.size, flex.offset + (value[flex.name] as unknown[]).length * elSize);
}
