import type { FieldType, StructType, UnionType } from '../../spec/dsl/index.js';

/** The ABIs we lay structs out for. */
export type Abi = 'lp64' | 'i386';

export interface Placed {
  size: number;
  align: number;
}

const roundUp = (n: number, a: number) => Math.ceil(n / a) * a;

/** Size and alignment of a field type under the C rules of one ABI. */
export function placeType(t: FieldType, abi: Abi): Placed {
  switch (t.kind) {
    case 'scalar': {
      // i386 aligns a plain 8-byte integer to 4; __aligned_u64 forces 8 everywhere.
      const align = t.size === 8 && abi === 'i386' && !t.forceAlign8 ? 4 : t.size;
      return { size: t.size, align };
    }
    case 'array': {
      const e = placeType(t.element, abi);
      return { size: e.size * t.length, align: e.align };
    }
    case 'flex':
      return { size: 0, align: placeType(t.element, abi).align };
    case 'struct':
      return layoutStruct(t, abi);
    case 'union':
      return layoutUnion(t, abi);
  }
}

export interface StructLayout extends Placed {
  offsets: Record<string, number>;
  sizes: Record<string, number>;
  aligns: Record<string, number>;
}

export function layoutStruct(s: StructType, abi: Abi, upToSince?: (since: string) => boolean): StructLayout {
  let offset = 0;
  let align = 1;
  const offsets: Record<string, number> = {};
  const sizes: Record<string, number> = {};
  const aligns: Record<string, number> = {};
  for (const [name, t] of Object.entries(s.fields)) {
    const fieldSince =
      'since' in t && typeof t.since === 'string' && t.kind !== 'struct' && t.kind !== 'union' ? t.since : undefined;
    if (upToSince && fieldSince && !upToSince(fieldSince)) continue;
    const p = placeType(t, abi);
    offset = roundUp(offset, p.align);
    offsets[name] = offset;
    sizes[name] = p.size;
    aligns[name] = p.align;
    offset += p.size;
    align = Math.max(align, p.align);
  }
  return { size: roundUp(offset, align), align, offsets, sizes, aligns };
}

export function layoutUnion(u: UnionType, abi: Abi): Placed {
  let size = 0;
  let align = 1;
  for (const t of Object.values(u.fields)) {
    const p = placeType(t, abi);
    size = Math.max(size, p.size);
    align = Math.max(align, p.align);
  }
  return { size: roundUp(size, align), align };
}

/** C spelling of a field type, as the header writes it. */
export function cTypeName(t: FieldType): string {
  switch (t.kind) {
    case 'scalar':
      if (t.forceAlign8) return '__aligned_u64';
      return `__${t.scalar}`;
    case 'array':
      return `${cTypeName(t.element)}[${t.length}]`;
    case 'flex':
      return `${cTypeName(t.element)}[]`;
    case 'struct':
      return `struct ${t.name}`;
    case 'union':
      return t.anonymous ? `union { ${Object.keys(t.fields).join('; ')} }` : `union ${t.name}`;
  }
}
