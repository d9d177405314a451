/**
 * `header-check --diff`: measure what a (newer) header has that the spec does not know — every unknown
 * macro and enumerator with its value from the compiler, every unknown struct with its members (from the
 * preprocessed header) and layout (sizeof, alignof, offsetof, member sizes, from the compiler). Turning
 * that into spec code is suggest.ts.
 */
import type { Ir } from '../ir/types.js';
import { accountFor, headerFlags, headerVersionOf, type HeaderCheckOptions } from './check.js';
import { HEADERS_TU, compileAndRun, macrosOf } from './gcc.js';
import { headerInventory, preprocessedByFile } from './inventory.js';

export interface DiffMacro {
  /** `enumerator` for unknown enumerators (which have a value but no definition text). */
  kind: 'macro' | 'enumerator';
  name: string;
  definition: string;
  /** Integer value, or the string for string macros; absent when the macro is not a value. */
  value?: number | string;
  /** For ioctl macros: `_IO` type and number. */
  ioctl?: { type: number; nr: number };
  note?: string;
}

export interface DiffMember {
  name: string;
  /** Declared C type, as written (after preprocessing). */
  cType: string;
  offset?: number;
  size?: number;
  flex: boolean;
  bitfield: boolean;
  /** Path inside anonymous unions/structs, for display. */
  inUnion: boolean;
}

export interface DiffStruct {
  name: string;
  size?: number;
  align?: number;
  members: DiffMember[];
  note?: string;
}

export interface HeaderDiff {
  include: string | null;
  headerVersion: string | null;
  macros: DiffMacro[];
  structs: DiffStruct[];
}

/** Find the body of every top-level `struct NAME { ... }` in preprocessed C. */
export function structBodies(src: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /\bstruct\s+([A-Za-z_]\w*)\s*\{/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(src))) {
    const name = m[1]!;
    let depth = 1;
    let i = re.lastIndex;
    for (; i < src.length && depth > 0; i++) {
      if (src[i] === '{') depth++;
      else if (src[i] === '}') depth--;
    }
    if (!out.has(name)) out.set(name, src.slice(re.lastIndex, i - 1));
    re.lastIndex = i;
  }
  return out;
}

const stripAttributes = (s: string) => {
  let out = s;
  // __attribute__((...)) with nested parentheses
  for (;;) {
    const i = out.indexOf('__attribute__');
    if (i < 0) return out;
    let j = out.indexOf('(', i);
    let depth = 0;
    for (; j < out.length; j++) {
      if (out[j] === '(') depth++;
      else if (out[j] === ')' && --depth === 0) break;
    }
    out = out.slice(0, i) + out.slice(j + 1);
  }
};

/** Member declarations of a struct body: names (anonymous unions/structs flattened), declared types. */
export function parseMembers(body: string, inUnion = false): DiffMember[] {
  const out: DiffMember[] = [];
  const text = stripAttributes(
    body.replace(/\b__u64\s+__attribute__\s*\(\(\s*aligned\s*\(\s*8\s*\)\s*\)\)/g, '__aligned_u64'),
  );
  let i = 0;
  let start = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '{') {
      // nested aggregate: find its end and the declarator after it
      let depth = 1;
      let j = i + 1;
      for (; j < text.length && depth > 0; j++) {
        if (text[j] === '{') depth++;
        else if (text[j] === '}') depth--;
      }
      const inner = text.slice(i + 1, j - 1);
      const semi = text.indexOf(';', j);
      const declarator = text.slice(j, semi).trim();
      const head = text.slice(start, i).trim();
      if (!declarator) out.push(...parseMembers(inner, inUnion || /\bunion\b/.test(head)));
      else
        out.push({
          name: declarator.replace(/\[.*$/, '').trim(),
          cType: `${head} {…}`,
          flex: /\[\s*\]/.test(declarator),
          bitfield: false,
          inUnion,
        });
      i = semi + 1;
      start = i;
      continue;
    }
    if (ch === ';') {
      const decl = text.slice(start, i).replace(/\s+/g, ' ').trim();
      start = i + 1;
      i++;
      if (!decl) continue;
      const m = /^(.*?)([A-Za-z_]\w*)\s*((?:\[[^\]]*\])*)\s*(:\s*\d+)?$/.exec(decl);
      if (!m) continue;
      const [, type = '', name = '', dims = '', bits] = m;
      // "int a, b" — split declarators sharing a type
      const parts = (type + name).split(',');
      const baseType = type.split(',')[0]!.trim();
      for (const p of parts.length > 1 ? parts : [type + name]) {
        const nm = /([A-Za-z_]\w*)\s*$/.exec(p)?.[1] ?? name;
        out.push({
          name: nm,
          cType: `${baseType}${dims}`.replace(/\s+/g, ' ').trim(),
          flex: /\[\s*\]/.test(dims),
          bitfield: !!bits,
          inUnion,
        });
      }
      continue;
    }
    i++;
  }
  return out;
}

function cSafe(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

/** Measure every item of the headers in `opts.include` (system headers by default) the spec does not know. */
export function headerDiff(ir: Ir, opts: HeaderCheckOptions = {}): HeaderDiff {
  const flags = headerFlags(opts);
  const macros = macrosOf(flags);
  const headers = preprocessedByFile(flags);
  const unknown = accountFor(ir, headerInventory(headers)).unknown;
  const valued = unknown.filter((u) => u.kind !== 'struct' && !u.functionLike);
  const unknownStructs = unknown.filter((u) => u.kind === 'struct').map((u) => u.name);
  const bodies = structBodies([...headers.text.values()].join('\n'));

  // One program measures all values and struct layouts; lines that do not compile are dropped.
  const lines: string[] = [HEADERS_TU, '#include <stdio.h>', '#include <stddef.h>'];
  lines.push('static void vu_i(const char *n, long long v) { printf("I\\t%s\\t%lld\\n", n, v); }');
  lines.push('static void vu_s(const char *n, const char *v) { printf("S\\t%s\\t%s\\n", n, v); }');
  lines.push('#define VU_VAL(n, x) _Generic((x), char *: vu_s, const char *: vu_s, default: vu_i)(n, x);');
  lines.push('int main(void) {');
  for (const d of valued) lines.push(`VU_VAL("${d.name}", ${d.name})`);
  const parsed = new Map<string, DiffMember[]>();
  for (const s of unknownStructs) {
    const members = parseMembers(bodies.get(s) ?? '');
    parsed.set(s, members);
    lines.push(`printf("Z\\t${s}\\t%zu\\t%zu\\n", sizeof(struct ${s}), _Alignof(struct ${s}));`);
    for (const m of members) {
      if (!m.bitfield) lines.push(`printf("O\\t${s}\\t${cSafe(m.name)}\\t%zu\\n", offsetof(struct ${s}, ${m.name}));`);
      if (!m.flex && !m.bitfield)
        lines.push(`printf("L\\t${s}\\t${cSafe(m.name)}\\t%zu\\n", sizeof(((struct ${s} *)0)->${m.name}));`);
    }
  }
  lines.push('return 0; }');
  const run = compileAndRun(lines.join('\n'), flags, (text) => (/^(VU_VAL|printf\("[ZOL])/.test(text) ? '' : null));

  const values = new Map<string, number | string>();
  const layout = new Map<string, { size: number; align: number }>();
  const offs = new Map<string, number>();
  const sizes = new Map<string, number>();
  for (const line of run.stdout.split('\n')) {
    const [tag, a = '', b = '', c = ''] = line.split('\t');
    if (tag === 'I') values.set(a, Number(b));
    else if (tag === 'S') values.set(a, b);
    else if (tag === 'Z') layout.set(a, { size: Number(b), align: Number(c) });
    else if (tag === 'O') offs.set(`${a}.${b}`, Number(c));
    else if (tag === 'L') sizes.set(`${a}.${b}`, Number(c));
  }
  const outMacros: DiffMacro[] = unknown
    .filter((u) => u.kind !== 'struct')
    .map((d) => {
      const v = values.get(d.name);
      const definition = d.definition ?? '';
      const io = d.kind === 'macro' ? /\b_IO\s*\(\s*(\w+|\(?'.'\)?)\s*,\s*(.+)\)\s*$/.exec(definition) : null;
      const r: DiffMacro = { kind: d.kind === 'enumerator' ? 'enumerator' : 'macro', name: d.name, definition };
      if (v !== undefined) r.value = v;
      else r.note = macros.get(d.name)?.functionLike || d.functionLike ? 'function-like macro' : 'not a value';
      if (io && typeof v === 'number') r.ioctl = { type: (v >> 8) & 0xff, nr: v & 0xff };
      return r;
    });
  const structs: DiffStruct[] = unknownStructs.map((name) => {
    const l = layout.get(name);
    const members = (parsed.get(name) ?? []).map((m) => {
      const o = offs.get(`${name}.${m.name}`);
      const z = sizes.get(`${name}.${m.name}`);
      return { ...m, ...(o !== undefined ? { offset: o } : {}), ...(z !== undefined ? { size: z } : {}) };
    });
    return { name, ...(l ? { size: l.size, align: l.align } : { note: 'layout not measurable' }), members };
  });
  return { include: opts.include ?? null, headerVersion: headerVersionOf(macros), macros: outMacros, structs };
}
