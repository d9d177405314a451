import type { Ir, IrField, IrStruct, IrType } from '../../ir/types.js';
import type { GeneratedFile } from '../index.js';
import { pascal, specSources } from '../shared/naming.js';
import { render, tsHeader } from '../shared/render.js';

const here = new URL('.', import.meta.url).pathname;

interface ScalarInfo {
  get: string;
  set: string;
  ts: 'number' | 'bigint';
  min: string;
  max: string;
}

const SCALARS: Record<string, ScalarInfo> = {
  u8: { get: 'getUint8', set: 'setUint8', ts: 'number', min: '0', max: '0xff' },
  u16: { get: 'getUint16', set: 'setUint16', ts: 'number', min: '0', max: '0xffff' },
  u32: { get: 'getUint32', set: 'setUint32', ts: 'number', min: '0', max: '0xffffffff' },
  s8: { get: 'getInt8', set: 'setInt8', ts: 'number', min: '-0x80', max: '0x7f' },
  s16: { get: 'getInt16', set: 'setInt16', ts: 'number', min: '-0x8000', max: '0x7fff' },
  s32: { get: 'getInt32', set: 'setInt32', ts: 'number', min: '-0x80000000', max: '0x7fffffff' },
  u64: { get: 'getBigUint64', set: 'setBigUint64', ts: 'bigint', min: '0n', max: '0xffffffffffffffffn' },
  s64: {
    get: 'getBigInt64',
    set: 'setBigInt64',
    ts: 'bigint',
    min: '-0x8000000000000000n',
    max: '0x7fffffffffffffffn',
  },
};

/** Size of one element of a type (for arrays and flexible arrays). */
function elementSize(t: IrType, ir: Ir): number {
  switch (t.kind) {
    case 'scalar':
      return t.size;
    case 'array':
      return elementSize(t.element, ir) * t.length;
    case 'struct':
      return ir.structs[t.struct]!.size;
    case 'union':
      return Math.max(...t.members.map((m) => m.size));
    case 'flex':
      return 0;
  }
}

function tsType(t: IrType): string {
  switch (t.kind) {
    case 'scalar':
      return SCALARS[t.scalar]!.ts;
    case 'array':
      return `${tsType(t.element)}[]`;
    case 'flex':
      return `${tsType(t.element)}[]`;
    case 'struct':
      return pascal(t.struct);
    case 'union':
      return `{ ${t.members.map((m) => `${m.name}?: ${tsType(m.ir)}`).join('; ')} }`;
  }
}

/** Statements that check and write `value` (an expression) at byte `at` (an expression). */
function encodeStmts(t: IrType, value: string, at: string, where: string, ir: Ir): string[] {
  switch (t.kind) {
    case 'scalar': {
      const s = SCALARS[t.scalar]!;
      // One read of the field, and the cheapest exact range test per type: an integer in range is the
      // only value these coercions leave unchanged (NaN, fractions, strings and undefined all differ).
      const bad = {
        u8: "typeof x !== 'number' || (x & 0xff) !== x",
        u16: "typeof x !== 'number' || (x & 0xffff) !== x",
        u32: "typeof x !== 'number' || x >>> 0 !== x",
        s8: "typeof x !== 'number' || (x << 24) >> 24 !== x",
        s16: "typeof x !== 'number' || (x << 16) >> 16 !== x",
        s32: "typeof x !== 'number' || (x | 0) !== x",
        u64: "typeof x !== 'bigint' || BigInt.asUintN(64, x) !== x",
        s64: "typeof x !== 'bigint' || BigInt.asIntN(64, x) !== x",
      }[t.scalar]!;
      return [
        `{`,
        `  const x = ${value};`,
        `  if (${bad}) outOfRange(${where}, x, '${t.scalar}');`,
        `  view.${s.set}(${at}, x${t.size > 1 ? ', LE' : ''});`,
        `}`,
      ];
    }
    case 'array': {
      const es = elementSize(t.element, ir);
      return [
        `if (!Array.isArray(${value}) || ${value}.length !== ${t.length}) wrongLength(${where}, ${value}, ${t.length});`,
        `for (let i = 0; i < ${t.length}; i++) {`,
        ...encodeStmts(t.element, `${value}[i]!`, `${at} + i * ${es}`, where, ir).map((l) => '  ' + l),
        `}`,
      ];
    }
    case 'flex': {
      const es = elementSize(t.element, ir);
      return [
        `if (!Array.isArray(${value})) wrongLength(${where}, ${value}, -1);`,
        `for (let i = 0; i < ${value}.length; i++) {`,
        ...encodeStmts(t.element, `${value}[i]!`, `${at} + i * ${es}`, where, ir).map((l) => '  ' + l),
        `}`,
      ];
    }
    case 'struct':
      // a nested struct (e.g. a capability's header): not an object is the caller's error, never a TypeError
      return [
        `if (${value} === null || typeof ${value} !== 'object') notAnObject(${where}, ${value});`,
        `encode${pascal(t.struct)}(${value}, view, ${at});`,
      ];
    case 'union': {
      const lines = [`if (${value} === null || typeof ${value} !== 'object') wrongLength(${where}, ${value}, 1);`];
      t.members.forEach((m, i) => {
        lines.push(`${i ? 'else ' : ''}if (${value}.${m.name} !== undefined) {`);
        lines.push(...encodeStmts(m.ir, `${value}.${m.name}`, at, where, ir).map((l) => '  ' + l));
        lines.push('}');
      });
      return lines;
    }
  }
}

/** An expression that reads a value of type `t` at byte `at`. `count` is the element count for flexible arrays. */
function decodeExpr(t: IrType, at: string, ir: Ir, count?: string): string {
  switch (t.kind) {
    case 'scalar': {
      const s = SCALARS[t.scalar]!;
      return `view.${s.get}(${at}${t.size > 1 ? ', LE' : ''})`;
    }
    case 'array': {
      const es = elementSize(t.element, ir);
      return `Array.from({ length: ${t.length} }, (_, i) => ${decodeExpr(t.element, `${at} + i * ${es}`, ir)})`;
    }
    case 'flex': {
      const es = elementSize(t.element, ir);
      return `Array.from({ length: ${count} }, (_, i) => ${decodeExpr(t.element, `${at} + i * ${es}`, ir)})`;
    }
    case 'struct':
      return `decode${pascal(t.struct)}(view, ${at})`;
    case 'union':
      return `{ ${t.members.map((m) => `${m.name}: ${decodeExpr(m.ir, at, ir)}`).join(', ')} }`;
  }
}

interface FieldView {
  name: string;
  tsType: string;
  doc: string;
  offset: number;
  encode: string[];
  decode: string;
  isFlex: boolean;
}

function structView(name: string, s: IrStruct, ir: Ir) {
  const P = pascal(name);
  const flex = s.fields.find((f) => f.ir.kind === 'flex');
  const fields: FieldView[] = s.fields.map((f: IrField) => {
    const at = `offset + ${f.offset}`;
    const where = `'${name}.${f.name}'`;
    let decode: string;
    if (f.ir.kind === 'flex') {
      const es = elementSize(f.ir.element, ir);
      const count = f.ir.countedBy
        ? `v_${f.ir.countedBy}`
        : `Math.floor((view.byteLength - offset - ${f.offset}) / ${es})`;
      decode = decodeExpr(f.ir, at, ir, `flexCount(view, offset + ${f.offset}, ${count}, ${es}, ${where})`);
    } else decode = decodeExpr(f.ir, at, ir);
    return {
      name: f.name,
      tsType: tsType(f.ir),
      doc: f.doc.replace(/\*\//g, '*\\/').replace(/\n/g, ' '),
      offset: f.offset,
      encode: encodeStmts(f.ir, `value.${f.name}`, at, where, ir),
      decode,
      isFlex: f.ir.kind === 'flex',
    };
  });
  return {
    cName: name,
    P,
    doc: s.doc.replace(/\*\//g, '*\\/').replace(/\n/g, ' '),
    size: s.size,
    align: s.align,
    minsz: s.minsz,
    since: s.since,
    fields,
    scalarFields: fields.filter((f) => !f.isFlex),
    flexField: flex ? fields.find((f) => f.isFlex)! : null,
    offsets: s.fields.map((f) => `${f.name}: ${f.offset}`).join(', '),
  };
}

export function emit(ir: Ir): GeneratedFile[] {
  const structs = Object.entries(ir.structs).map(([n, s]) => structView(n, s, ir));
  const header = tsHeader('codecs', specSources(ir.meta.specFiles));
  return [{ path: 'generated/codecs.ts', content: render(here, 'codecs', { header, structs }) }];
}
