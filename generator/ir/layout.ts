import type { ArrayType, FieldType, FlexType, ScalarType, StructType, UnionType } from '../../spec/dsl/index.js';
import { compareReleases } from '../../spec/dsl/release.js';
import type { IrPlacedField as PlacedField, IrStructVersion as VersionLayout } from './types.js';

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

// ── Layouts through time ────────────────────────────────────────────────────────────────────────────
// A struct's fields may arrive after the struct (`addedIn`), and may be renamed or retyped in place
// (`was`). These functions give the struct as a given release had it, so its LP64 and i386 layouts can be
// computed per kernel version.

/** `a` is the same release as `b` or newer. */
const atLeast = (a: string, b: string) => compareReleases(a, b) >= 0;

type Leaf = ScalarType | ArrayType | FlexType;
const isLeaf = (t: FieldType): t is Leaf => t.kind === 'scalar' || t.kind === 'array' || t.kind === 'flex';

/** The name and type a field had in `release`, or null when it did not exist yet. */
export function fieldAt(name: string, t: FieldType, release: string): { name: string; type: FieldType } | null {
  if (!isLeaf(t)) {
    if (t.kind === 'union') {
      const u = unionAt(t, release);
      return Object.keys(u.fields).length ? { name, type: u } : null;
    }
    return { name, type: structAt(t, release) };
  }
  if (t.since && !atLeast(release, t.since)) return null;
  let at = name;
  let type: Leaf = t;
  let nameSet = false;
  let typeSet = false;
  // history is newest first; the first revision that ends after `release` and mentions an aspect decides it
  for (const r of [...(t.history ?? [])].reverse()) {
    if (atLeast(release, r.until)) continue;
    if (r.name && !nameSet) {
      at = r.name;
      nameSet = true;
    }
    if (r.type && !typeSet) {
      type = r.type;
      typeSet = true;
    }
  }
  return { name: at, type: typeSet ? { ...type, since: t.since } : t };
}

const structMemo = new WeakMap<object, Map<string, StructType>>();

/** The struct as `release` had it: later fields dropped, renamed and retyped fields in their old form. */
export function structAt(s: StructType, release: string): StructType {
  let byRelease = structMemo.get(s);
  if (!byRelease) structMemo.set(s, (byRelease = new Map()));
  const memo = byRelease.get(release);
  if (memo) return memo;
  const fields: Record<string, FieldType> = {};
  for (const [n, t] of Object.entries(s.fields)) {
    const f = fieldAt(n, t, release);
    if (f) fields[f.name] = f.type;
  }
  const out = { ...s, fields } as StructType;
  byRelease.set(release, out);
  return out;
}

function unionAt(u: UnionType, release: string): UnionType {
  const fields: Record<string, FieldType> = {};
  for (const [n, t] of Object.entries(u.fields)) {
    const f = fieldAt(n, t, release);
    if (f) fields[f.name] = f.type;
  }
  return { ...u, fields } as UnionType;
}

/** Every release at which the struct's C form changed (its own since included), oldest first. */
export function layoutReleases(s: StructType | UnionType, since = s.since): string[] {
  const set = new Set<string>([since]);
  const visit = (t: FieldType) => {
    if (isLeaf(t)) {
      if (t.since && compareReleases(t.since, since) > 0) set.add(t.since);
      for (const r of t.history ?? []) if (compareReleases(r.until, since) > 0) set.add(r.until);
      if (t.kind !== 'scalar') visit(t.element);
      return;
    }
    for (const r of layoutReleases(t, since)) set.add(r);
  };
  for (const t of Object.values(s.fields)) visit(t);
  return [...set].sort(compareReleases);
}

/** The struct's layout on both ABIs in every release it changed, oldest first (identical neighbours merged). */
export function layoutHistory(s: StructType): VersionLayout[] {
  const out: VersionLayout[] = [];
  for (const release of layoutReleases(s)) {
    const at = structAt(s, release);
    const lp = layoutStruct(at, 'lp64');
    const i3 = layoutStruct(at, 'i386');
    const fields: PlacedField[] = [];
    for (const [current, t] of Object.entries(s.fields)) {
      const f = fieldAt(current, t, release);
      if (!f) continue;
      const place = (abi: Abi, l: StructLayout, name: string, ft: FieldType, base = 0) => ({
        offset: base + l.offsets[name]!,
        size: placeType(ft, abi).size,
        align: placeType(ft, abi).align,
      });
      if (f.type.kind === 'union') {
        for (const [m, mt] of Object.entries(f.type.fields)) {
          const path = f.type.anonymous ? m : `${f.name}.${m}`;
          const cur = f.type.anonymous ? m : `${current}.${m}`;
          fields.push({
            name: path,
            field: cur,
            type: cTypeName(mt),
            flex: mt.kind === 'flex',
            lp64: { offset: lp.offsets[f.name]!, size: placeType(mt, 'lp64').size, align: placeType(mt, 'lp64').align },
            i386: { offset: i3.offsets[f.name]!, size: placeType(mt, 'i386').size, align: placeType(mt, 'i386').align },
          });
        }
        continue;
      }
      fields.push({
        name: f.name,
        field: current,
        type: cTypeName(f.type),
        flex: f.type.kind === 'flex',
        lp64: place('lp64', lp, f.name, f.type),
        i386: place('i386', i3, f.name, f.type),
      });
    }
    const v: VersionLayout = {
      since: release,
      fields,
      lp64: { size: lp.size, align: lp.align },
      i386: { size: i3.size, align: i3.align },
    };
    const prev = out[out.length - 1];
    const same = prev && JSON.stringify({ ...prev, since: '' }) === JSON.stringify({ ...v, since: '' });
    if (!same) out.push(v);
  }
  return out;
}
