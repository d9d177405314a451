import { base, deepFreeze, type ItemBase, type ItemOptions } from './common.js';
import type { Enumeration, FlagSet } from './enums.js';
import { compareReleases, RELEASE } from './release.js';

export type ScalarName = 'u8' | 'u16' | 'u32' | 'u64' | 's8' | 's16' | 's32' | 's64';

/** What a field means beyond its bits; drives validators and codecs. */
export type FieldRole =
  | { kind: 'plain' }
  /** The caller's idea of the argument size (VFIO `argsz`, iommufd `size`). */
  | { kind: 'argsz' }
  /** A set of named bits; any other bit set is an error. */
  | { kind: 'flags'; flags: FlagSet }
  /** One value of an enumeration. */
  | { kind: 'enum'; enumeration: Enumeration }
  /** Must be zero on input. */
  | { kind: 'reserved' }
  /** A user-space address carried as an integer; `required` means NULL is refused. */
  | { kind: 'pointer'; required: boolean }
  /** A file descriptor number (−1 meaning none). */
  | { kind: 'fd' };

/**
 * One earlier form of a field. Before release `until` the field had another C name and/or another type;
 * its offset never moved (only the name, the declared type, and so its i386 alignment, changed).
 */
export interface FieldRevision {
  /** First release with the newer form. */
  readonly until: string;
  /** The field's name before `until`, when it was renamed. */
  readonly name?: string;
  /** The field's type before `until`, when it was retyped (e.g. `u64` before `__aligned_u64`). */
  readonly type?: ScalarType;
}

/** Who writes a field: the caller, the kernel, or both. */
export type FieldDirection = 'in' | 'out' | 'inout';

export interface ScalarType<TS = number | bigint> {
  readonly kind: 'scalar';
  readonly scalar: ScalarName;
  readonly size: number;
  readonly signed: boolean;
  /** `__aligned_u64`: 8-aligned on every ABI (a plain u64 is 4-aligned on i386). */
  readonly forceAlign8: boolean;
  readonly role: FieldRole;
  /** `out`: filled in by the kernel, ignored on input (validators skip it). */
  readonly direction: FieldDirection;
  /** Release that added this field to its struct, when later than the struct itself. */
  readonly since?: string;
  /** Earlier names and types of the field, newest first (see `was`). */
  readonly history?: readonly FieldRevision[];
  /** Phantom: the TypeScript type of a value. */
  readonly _ts?: TS;
}

export interface ArrayType<E extends FieldType = FieldType> {
  readonly kind: 'array';
  readonly since?: string;
  readonly history?: readonly FieldRevision[];
  readonly element: E;
  readonly length: number;
}

/** A C99 flexible array member: zero bytes in the struct, elements follow it. */
export interface FlexType<E extends FieldType = FieldType> {
  readonly kind: 'flex';
  readonly since?: string;
  readonly history?: readonly FieldRevision[];
  readonly element: E;
  /** Name of the sibling field that counts the elements (C `__counted_by`). */
  readonly countedBy?: string;
}

export interface StructOptions extends ItemOptions {
  /** Smallest argsz the kernel accepts: a byte count, or the last mandatory field's name. */
  minsz?: number | string;
  /** Layout facts stated in the spec; the IR check fails if the computed layout disagrees. */
  expect?: { size?: number; align?: number; offsets?: Record<string, number> };
}

export type Fields = Readonly<Record<string, FieldType>>;

export interface StructType<F extends Fields = Fields> extends ItemBase {
  readonly kind: 'struct';
  readonly fields: F;
  readonly minsz?: number | string;
  readonly expect?: StructOptions['expect'];
  /** Per-field doc text, filled in by the loader from comments in the spec source. */
  readonly fieldDocs?: Readonly<Record<string, string>>;
}

export interface UnionType<F extends Fields = Fields> extends ItemBase {
  readonly kind: 'union';
  readonly fields: F;
  /** An unnamed union in C: its members are reached directly from the enclosing struct. */
  readonly anonymous: boolean;
}

export type FieldType = ScalarType | ArrayType | FlexType | StructType | UnionType;

/** Builders for one scalar: the plain type plus role variants; each variant chains. */
export interface ScalarBuilder<TS> extends ScalarType<TS> {
  argsz(): ScalarBuilder<TS>;
  flagsOf(flags: FlagSet): ScalarBuilder<TS>;
  enumOf(enumeration: Enumeration): ScalarBuilder<TS>;
  reserved(): ScalarBuilder<TS>;
  pointer(opts?: { required?: boolean }): ScalarBuilder<TS>;
  fd(): ScalarBuilder<TS>;
  /** Filled in by the kernel; the caller's value is ignored. */
  out(): ScalarBuilder<TS>;
}

function scalar<TS>(name: ScalarName, size: number, signed: boolean, forceAlign8 = false): ScalarBuilder<TS> {
  const make = (role: FieldRole, direction: FieldDirection): ScalarBuilder<TS> => {
    const plain = deepFreeze({ kind: 'scalar', scalar: name, size, signed, forceAlign8, role, direction });
    return Object.freeze({
      ...plain,
      argsz: () => make({ kind: 'argsz' }, direction),
      flagsOf: (flags: FlagSet) => make({ kind: 'flags', flags }, direction),
      enumOf: (enumeration: Enumeration) => make({ kind: 'enum', enumeration }, direction),
      reserved: () => make({ kind: 'reserved' }, direction),
      pointer: (opts?: { required?: boolean }) =>
        make({ kind: 'pointer', required: opts?.required ?? false }, direction),
      fd: () => make({ kind: 'fd' }, direction),
      out: () => make(role, 'out'),
    }) as ScalarBuilder<TS>;
  };
  return make({ kind: 'plain' }, 'inout');
}

export const u8 = scalar<number>('u8', 1, false);
export const u16 = scalar<number>('u16', 2, false);
export const u32 = scalar<number>('u32', 4, false);
export const u64 = scalar<bigint>('u64', 8, false);
export const s8 = scalar<number>('s8', 1, true);
export const s16 = scalar<number>('s16', 2, true);
export const s32 = scalar<number>('s32', 4, true);
export const s64 = scalar<bigint>('s64', 8, true);
/** `__aligned_u64`: a u64 that is 8-aligned on 32-bit ABIs too. */
export const aligned_u64 = scalar<bigint>('u64', 8, false, true);
/** A user pointer: always carried as an aligned u64 in VFIO structs. */
export const user_ptr = (opts?: { required?: boolean }) => aligned_u64.pointer(opts);

export function array<E extends FieldType>(element: E, length: number): ArrayType<E> {
  return deepFreeze({ kind: 'array', element, length });
}

export function flex<E extends FieldType>(element: E, opts?: { countedBy?: string }): FlexType<E> {
  return deepFreeze({ kind: 'flex', element, ...(opts?.countedBy ? { countedBy: opts.countedBy } : {}) });
}

export function struct<F extends Fields>(name: string, fields: F, opts: StructOptions): StructType<F> {
  return deepFreeze({
    kind: 'struct',
    ...base(name, opts),
    fields,
    ...(opts.minsz !== undefined ? { minsz: opts.minsz } : {}),
    ...(opts.expect ? { expect: opts.expect } : {}),
  }) as StructType<F>;
}

export function union<F extends Fields>(
  name: string,
  fields: F,
  opts: ItemOptions & { anonymous?: boolean },
): UnionType<F> {
  const { anonymous, ...rest } = opts;
  return deepFreeze({ kind: 'union', ...base(name, rest), fields, anonymous: anonymous ?? false }) as UnionType<F>;
}

/** The TypeScript value type of a spec type: bigint for every 64-bit field. */
export type Infer<T> =
  T extends ScalarType<infer TS>
    ? TS
    : T extends ArrayType<infer E>
      ? Infer<E>[]
      : T extends FlexType<infer E>
        ? Infer<E>[]
        : T extends StructType<infer F>
          ? { -readonly [K in keyof F]: Infer<F[K]> }
          : T extends UnionType<infer F>
            ? { -readonly [K in keyof F]?: Infer<F[K]> }
            : never;

/** A field type without the scalar builder methods (what the spec stores). */
function plainOf<T extends ScalarType | ArrayType | FlexType>(type: T): T {
  const {
    argsz: _a,
    flagsOf: _f,
    enumOf: _e,
    reserved: _r,
    pointer: _p,
    fd: _d,
    out: _o,
    ...plain
  } = type as T & Partial<ScalarBuilder<unknown>>;
  return plain as T;
}

/** Mark a field as added to an existing struct in a later release (the struct grew; argsz tells them apart). */
export function addedIn<T extends ScalarType | ArrayType | FlexType>(since: string, type: T): T {
  if (!RELEASE.test(since)) throw new Error(`addedIn: "${since}" is not a kernel release like "6.6"`);
  return deepFreeze({ ...plainOf(type), since }) as T;
}

/**
 * A field that was renamed or retyped in place: `type` is its form now; each of `older` says what it was
 * before a release. `cap_offset: was(u32.out(), { until: '4.7', name: 'resv', type: u32.reserved() })` reads
 * "before 4.7 this u32 was the reserved field `resv`"; `size: was(aligned_u64, { until: '6.7', type: u64 })`
 * reads "before 6.7 it was a plain __u64 (4-aligned on i386)". Order does not matter; each `until` is unique.
 * An earlier type that states a role (`u32.reserved()`) gave the field that role then; a bare one (`u64`)
 * says only how it was declared, and the field kept its role and direction (`vfio-uapi diff` with
 * `revision({ asOf })` projects fields this way).
 */
export function was<T extends ScalarType | ArrayType | FlexType>(
  type: T,
  ...older: { until: string; name?: string; type?: ScalarType }[]
): T {
  if (!older.length) throw new Error('was: give at least one earlier form');
  const seen = new Set<string>();
  for (const o of older) {
    if (!RELEASE.test(o.until)) throw new Error(`was: until "${o.until}" is not a kernel release like "6.7"`);
    if (seen.has(o.until)) throw new Error(`was: two earlier forms end at ${o.until}`);
    seen.add(o.until);
    if (!o.name && !o.type) throw new Error(`was: the form before ${o.until} changes neither name nor type`);
    if (o.type && o.type.kind !== 'scalar') throw new Error('was: earlier types are scalars');
  }
  const plain = plainOf(type);
  const history: FieldRevision[] = [
    ...(plain.history ?? []),
    ...older.map((o) => ({
      until: o.until,
      ...(o.name ? { name: o.name } : {}),
      ...(o.type ? { type: plainOf(o.type) } : {}),
    })),
  ].sort((a, b) => compareReleases(b.until, a.until));
  return deepFreeze({ ...plain, history }) as T;
}
