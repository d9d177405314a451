/**
 * `header-check --diff`: turn a (newer) header into candidate spec additions. Unknown macros get
 * their values from the compiler; unknown `struct vfio_*` / `struct iommu_*` get their members from
 * the preprocessed header and their layouts (sizeof, alignof, offsetof, member sizes) from the
 * compiler. Everything is printed as spec snippets to paste and edit.
 */
import type { Ir } from '../ir/types.js';
import { accountFor, headerFlags, headerVersionOf, type HeaderCheckOptions } from './check.js';
import { headerInventory } from './inventory.js';
import { HEADERS_TU, compileAndRun, includeFlags, macrosOf, preprocessed } from './gcc.js';

export interface DiffMacro {
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

const SCALARS: Record<string, string> = {
  __u8: 'u8',
  __u16: 'u16',
  __u32: 'u32',
  __u64: 'u64',
  __s8: 's8',
  __s16: 's16',
  __s32: 's32',
  __s64: 's64',
  __aligned_u64: 'aligned_u64',
  __le32: 'u32',
  __le64: 'u64',
  int: 's32',
  char: 'u8',
};

/** A DSL expression for a C member type (best effort; odd ones are left as comments). */
function dslType(m: DiffMember): string {
  const dims = [...m.cType.matchAll(/\[([^\]]*)\]/g)].map((d) => d[1] ?? '');
  const base = m.cType.replace(/\[.*$/, '').trim();
  const sm = /^struct\s+(\w+)$/.exec(base);
  let t = SCALARS[base] ?? (sm ? sm[1]! : `/* ${base} */ u32`);
  for (const d of dims.reverse()) t = d.trim() === '' ? `flex(${t})` : `array(${t}, ${d.trim()})`;
  return t;
}

function cSafe(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

/** Build the candidate additions for the headers in `opts.include` (system headers by default). */
export function headerDiff(ir: Ir, opts: HeaderCheckOptions = {}): HeaderDiff {
  const flags = headerFlags(opts);
  const macros = macrosOf(flags);
  const drift = accountFor(ir, headerInventory(flags)).unknown.filter((u) => u.kind === 'macro');
  const known = new Set(Object.keys(ir.structs));
  const bodies = structBodies(preprocessed(flags));
  const unknownStructs = [...bodies.keys()].filter((n) => /^(vfio|iommu)_/.test(n) && !known.has(n)).sort();

  // One program measures all macro values and struct layouts; lines that do not compile are dropped.
  const lines: string[] = [HEADERS_TU, '#include <stdio.h>', '#include <stddef.h>'];
  lines.push('static void vu_i(const char *n, long long v) { printf("I\\t%s\\t%lld\\n", n, v); }');
  lines.push('static void vu_s(const char *n, const char *v) { printf("S\\t%s\\t%s\\n", n, v); }');
  lines.push('#define VU_VAL(n, x) _Generic((x), char *: vu_s, const char *: vu_s, default: vu_i)(n, x);');
  lines.push('int main(void) {');
  const macroList = drift.filter((d) => !macros.get(d.name)?.functionLike);
  for (const d of macroList) lines.push(`VU_VAL("${d.name}", ${d.name})`);
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
  const outMacros: DiffMacro[] = drift.map((d: { name: string; definition?: string }) => {
    const fn = macros.get(d.name)?.functionLike;
    const v = values.get(d.name);
    const io = /\b_IO\s*\(\s*(\w+|\(?'.'\)?)\s*,\s*(.+)\)\s*$/.exec(d.definition ?? '');
    const r: DiffMacro = { name: d.name, definition: d.definition ?? '' };
    if (v !== undefined) r.value = v;
    else r.note = fn ? 'function-like macro' : 'not a value';
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

const hex = (n: number) => (n < 0 ? String(n) : '0x' + n.toString(16));

/** Spec snippets for the candidate additions. */
export function formatDiff(d: HeaderDiff): string {
  const since = d.headerVersion ? d.headerVersion.split('.').slice(0, 2).join('.') : 'TODO';
  const out: string[] = [];
  out.push(
    `// Candidate spec additions from ${d.include ?? 'the system headers'}${d.headerVersion ? ` (Linux ${d.headerVersion})` : ''}.`,
  );
  out.push(
    `// \`since: '${since}'\` means "present in this header"; date each item by its first release before committing.`,
  );
  const ioctls = d.macros.filter((m) => m.ioctl);
  if (ioctls.length) {
    out.push('', `// ── ioctls (${ioctls.length})`);
    for (const m of ioctls) {
      const base =
        m.ioctl!.nr >= 0x80 ? `IOMMUFD_CMD_BASE + ${m.ioctl!.nr - 0x80}` : `VFIO_BASE + ${m.ioctl!.nr - 100}`;
      out.push(`/** TODO: describe. ${m.name} = ${hex(m.value as number)} (_IO(';', ${base})) */`);
      out.push(
        `export const ${m.name} = ioctl('${m.name}', { nr: ${m.ioctl!.nr}, on: /* TODO fd kind */ ${m.ioctl!.nr >= 0x80 ? 'IommuFd' : 'Device'}, arg: /* TODO */ noArg, since: '${since}' });`,
      );
    }
  }
  const values = d.macros.filter((m) => !m.ioctl && typeof m.value === 'number');
  if (values.length) {
    out.push('', `// ── constants (${values.length}), grouped by prefix`);
    const groups = new Map<string, DiffMacro[]>();
    for (const m of values) {
      const i = m.name.lastIndexOf('_');
      const p = i > 0 ? m.name.slice(0, i + 1) : m.name;
      if (!groups.has(p)) groups.set(p, []);
      groups.get(p)!.push(m);
    }
    for (const [prefix, ms] of groups) {
      if (ms.length === 1) {
        const m = ms[0]!;
        out.push(
          `export const ${m.name} = constant('${m.name}', ${m.value}, { since: '${since}' }); // ${m.definition}`,
        );
        continue;
      }
      const bits = ms.every((m) => typeof m.value === 'number' && m.value > 0 && (m.value & (m.value - 1)) === 0);
      const group = prefix.replace(/_$/, '').toLowerCase();
      out.push(`export const ${group} = ${bits ? 'flags' : 'enumeration'}(`);
      out.push(`  '${group}',`);
      out.push('  {');
      for (const m of ms) {
        const key = m.name.slice(prefix.length);
        out.push(`    ${/^[A-Za-z_]\w*$/.test(key) ? key : `'${key}'`}: ${m.value}, // ${m.definition}`);
      }
      out.push('  },');
      out.push(`  { prefix: '${prefix}', since: '${since}' },`);
      out.push(');');
    }
  }
  const other = d.macros.filter((m) => m.value === undefined || typeof m.value === 'string');
  if (other.length) {
    out.push('', `// ── other macros (${other.length}): strings, function-like or not values`);
    for (const m of other)
      out.push(
        `//   ${m.name} = ${typeof m.value === 'string' ? JSON.stringify(m.value) : m.definition} (${m.note ?? 'string'})`,
      );
  }
  if (d.structs.length) {
    out.push('', `// ── structs (${d.structs.length}), layouts measured by the compiler`);
    for (const s of d.structs) {
      out.push(`/** TODO: describe. sizeof ${s.size ?? '?'}, alignof ${s.align ?? '?'}. */`);
      out.push(`export const ${s.name} = struct(`);
      out.push(`  '${s.name}',`);
      out.push('  {');
      for (const m of s.members) {
        const where = `@${m.offset ?? '?'}${m.size !== undefined ? `, ${m.size} bytes` : m.flex ? ', flexible' : ''}`;
        const note = `${m.cType}${m.inUnion ? ', in an anonymous union' : ''}${m.bitfield ? ', bit-field' : ''}`;
        out.push(`    ${m.name}: ${dslType(m)}, // ${where}: ${note}`);
      }
      out.push('  },');
      out.push(
        `  { since: '${since}'${s.size !== undefined ? `, expect: { size: ${s.size}, align: ${s.align} }` : ''} },`,
      );
      out.push(');');
    }
  }
  if (!d.macros.length && !d.structs.length)
    out.push('', '// nothing: the spec knows every VFIO macro and struct of this header');
  return out.join('\n');
}
