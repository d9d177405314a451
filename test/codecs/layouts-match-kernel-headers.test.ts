// Layouts tested against facts, not against themselves: the IR (per release and ABI), the generated DataView
// codecs and the koffi struct types are compared with what gcc measured in Debian's linux-libc-dev packages
// (test/fixtures/kernel-layouts/<version>.json, written by `npm run test:headers -- --write-fixtures`, each
// file naming its package, version, checksum and how it was measured). Offline: the fixtures are committed.
import koffi from 'koffi';
import { beforeAll, describe, expect, it } from 'vitest';
import * as codecs from '../../generated/codecs.js';
import { KOFFI_STRUCTS } from '../../generated/koffi.js';
import { pascal } from '../../generator/emit/shared/naming.js';
import { loadSpec } from '../../generator/ir/load.js';
import type { Ir, IrField, IrStruct, IrStructVersion, IrType } from '../../generator/ir/types.js';
import { compareReleases } from '../../spec/dsl/release.js';
import { readAllFixtures, releaseOf } from '../header/matrix.js';

const fixtures = readAllFixtures();
const newest = [...fixtures]
  .sort((a, b) => compareReleases(a.source.linuxVersionCode, b.source.linuxVersionCode))
  .at(-1)!;

/** The struct as the IR says a release had it, or undefined when the release predates it. */
function versionAt(s: IrStruct, release: string): IrStructVersion | undefined {
  return s.versions.filter((v) => compareReleases(v.since, release) <= 0).at(-1);
}

let ir: Ir;
beforeAll(async () => {
  ir = await loadSpec(undefined, { docs: false });
});

describe('the fixtures cover the whole matrix', () => {
  it('has one file per pinned linux-libc-dev, each naming its source and how it was measured', () => {
    expect(fixtures.map((f) => f.source.linuxVersionCode).sort(compareReleases)).toEqual([
      '5.10.223',
      '6.1.176',
      '6.12.95',
      '6.12.117',
      '7.2.13',
      '7.3.4',
    ]);
    for (const f of fixtures) {
      expect(f.source.package).toBe('linux-libc-dev');
      expect(f.source.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(f.measuredBy.i386).toContain('-m32');
    }
  });
});

describe.each(fixtures.map((f) => [f.source.version, f] as const))('linux-libc-dev %s', (_v, fx) => {
  const release = releaseOf(fx);

  it.each(['lp64', 'i386'] as const)(
    '%s: every struct of the IR has the size, alignment and members gcc measured',
    (abi) => {
      const facts = fx[abi].structs;
      const expected = Object.keys(ir.structs).filter((n) => versionAt(ir.structs[n]!, release));
      expect(Object.keys(facts).sort()).toEqual(expected.sort());
      for (const [name, f] of Object.entries(facts)) {
        const v = versionAt(ir.structs[name]!, release)!;
        expect([name, v[abi].size, v[abi].align]).toEqual([name, f.size, f.align]);
        const irFields = Object.fromEntries(
          v.fields.map((x) => [x.name, [x[abi].offset, x.flex ? null : x[abi].size]]),
        );
        expect([name, irFields]).toEqual([name, f.fields]);
      }
    },
  );

  it.each(['lp64', 'i386'] as const)(
    '%s: every value the IR names for this release is the one in the header',
    (abi) => {
      const want: Record<string, number> = {};
      for (const [n, value] of Object.entries(ir.constants)) {
        const info = ir.constantInfo[n]!;
        if (compareReleases(info.nameSince ?? info.since, release) <= 0) want[n] = value;
      }
      for (const [n, io] of Object.entries(ir.ioctls)) if (compareReleases(io.since, release) <= 0) want[n] = io.number;
      for (const [n, meanings] of Object.entries(ir.formerNames))
        for (const m of meanings)
          if (compareReleases(m.from, release) <= 0 && compareReleases(release, m.until) < 0) want[n] = m.value;
      expect(fx[abi].values).toEqual(want);
    },
  );

  it('LP64: the generated codecs write and read each field at the offset and width gcc measured', () => {
    for (const [name, f] of Object.entries(fx.lp64.structs)) {
      const s = ir.structs[name]!;
      const v = versionAt(s, release)!;
      const encode = (codecs as unknown as Record<string, (v: unknown, d: DataView, o?: number) => void>)[
        `encode${pascal(name)}`
      ]!;
      const decode = (codecs as unknown as Record<string, (d: DataView, o?: number) => Record<string, unknown>>)[
        `decode${pascal(name)}`
      ]!;
      for (const placed of v.fields) {
        const field = s.fields.find((x) => x.name === placed.field.split('.')[0]) ?? unionOwner(s, placed.field);
        if (!field || placed.flex) continue;
        const [offset, size] = f.fields[placed.name]!;
        const len = Math.max(s.size, f.size);
        // encode: a value that is zero but for this field; exactly the measured bytes become non-zero
        const value = zeroValue(s, ir);
        setMarker(value, field, placed.field, ir);
        const view = new DataView(new ArrayBuffer(len));
        encode(value, view, 0);
        const written = [...new Uint8Array(view.buffer)].flatMap((b, i) => (b ? [i] : []));
        expect([name, placed.name, written[0], written.length]).toEqual([name, placed.name, offset, size]);
        // decode: the measured bytes set, the field comes back as the marker (a count of a flexible array
        // would ask for that many elements, so counts are checked by the write alone)
        const counts = s.fields.some((x) => x.ir.kind === 'flex' && x.ir.countedBy === field.name);
        if (counts) continue;
        const back = decode(view, 0);
        expect([name, placed.field, pick(back, field, placed.field)]).toEqual([
          name,
          placed.field,
          pick(value, field, placed.field),
        ]);
      }
    }
  });

  it('LP64: the koffi struct types have the offsets gcc measured (and, for the newest header, its size)', () => {
    for (const [name, f] of Object.entries(fx.lp64.structs)) {
      const T = KOFFI_STRUCTS[name as keyof typeof KOFFI_STRUCTS];
      const v = versionAt(ir.structs[name]!, release)!;
      for (const placed of v.fields) {
        if (placed.flex || placed.field.includes('.')) continue;
        const top = ir.structs[name]!.fields.find((x) => x.name === placed.field);
        if (!top || top.ir.kind === 'union') continue;
        expect([name, placed.name, koffi.offsetof(T, placed.field)]).toEqual([
          name,
          placed.name,
          f.fields[placed.name]![0],
        ]);
      }
      if (fx === newest) expect([name, koffi.sizeof(T), koffi.alignof(T)]).toEqual([name, f.size, f.align]);
    }
  });
});

/** A member of an anonymous union is reached directly; find the union field that holds it. */
function unionOwner(s: IrStruct, member: string): IrField | undefined {
  return s.fields.find((f) => f.ir.kind === 'union' && f.ir.members.some((m) => m.name === member));
}

function zeroOf(t: IrType, ir: Ir): unknown {
  switch (t.kind) {
    case 'scalar':
      return t.size === 8 ? 0n : 0;
    case 'array':
      return Array.from({ length: t.length }, () => zeroOf(t.element, ir));
    case 'flex':
      return [];
    case 'struct':
      return zeroValue(ir.structs[t.struct]!, ir);
    case 'union':
      return { [t.members[0]!.name]: zeroOf(t.members[0]!.ir, ir) };
  }
}

function zeroValue(s: IrStruct, ir: Ir): Record<string, unknown> {
  return Object.fromEntries(s.fields.map((f) => [f.name, zeroOf(f.ir, ir)]));
}

/** Every byte non-zero: 0xa5 repeated (0x25 in the top byte of signed types, to stay positive). */
function markerOf(t: IrType, ir: Ir): unknown {
  switch (t.kind) {
    case 'scalar': {
      const top = t.signed ? '25' : 'a5';
      const hex = top + 'a5'.repeat(t.size - 1);
      return t.size === 8 ? BigInt(`0x${hex}`) : Number(`0x${hex}`);
    }
    case 'array':
      return Array.from({ length: t.length }, () => markerOf(t.element, ir));
    case 'struct': {
      const s = ir.structs[t.struct]!;
      return Object.fromEntries(s.fields.map((f) => [f.name, markerOf(f.ir, ir)]));
    }
    default:
      return zeroOf(t, ir);
  }
}

function setMarker(value: Record<string, unknown>, field: IrField, path: string, ir: Ir): void {
  if (field.ir.kind === 'union') {
    const m = field.ir.members.find((x) => x.name === path || `${field.name}.${x.name}` === path)!;
    value[field.name] = { [m.name]: markerOf(m.ir, ir) };
    return;
  }
  value[field.name] = markerOf(field.ir, ir);
}

/** The value of one field, or of one member of a union field. */
function pick(value: Record<string, unknown>, field: IrField, path: string): unknown {
  const v = value[field.name];
  if (field.ir.kind !== 'union') return v;
  const member = path.includes('.') ? path.slice(path.indexOf('.') + 1) : path;
  return (v as Record<string, unknown>)[member];
}
