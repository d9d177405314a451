/**
 * `header-check --diff` suggestions: spec code for what a header has and the spec does not, written to load
 * as it stands — the spec's own export names and files for everything it refers to (`Iommufd`, `Device`,
 * `VFIO_BASE`, `vfio_info_cap_header`, ...), no export name the spec already uses, `VFIO_DEVICE_FEATURE_*`
 * indexes as features, values that belong to an existing enumeration or flag set as members of it, and
 * `since` = the header's release. What the header's text must decide (feature ops and handler, an
 * ioctl's fd kind, doc comments) is marked TODO; layouts carry `expect` from the compiler, so a wrong
 * guess fails `vfio-uapi check` instead of going unnoticed.
 *
 * The output is one new module (`suggested-<release>.ts` next to the spec's modules) plus member additions
 * to existing sets; `applySuggestions` writes both into a spec folder.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { compareReleases } from '../../spec/dsl/release.js';
import { importModule } from '../ir/import-module.js';
import type { Ir } from '../ir/types.js';
import type { DiffMacro, DiffMember, DiffStruct, HeaderDiff } from './diff.js';

/** Where each spec item is exported from: export name and file, by kind and C name. */
export interface SpecIndex {
  /** `${kind}:${cName}` (kind: struct, enum, flags, const, fdKind, ioctl, feature) → export. */
  items: Map<string, { exportName: string; file: string }>;
  exportNames: Set<string>;
  /** Folder of the spec's entry module (where the suggestions module goes). */
  dir: string;
  /** The entry module (index.ts). */
  module: string;
}

/** Import a spec module and index its exports. */
export async function specIndex(modulePath: string): Promise<SpecIndex> {
  const exports = await importModule(modulePath);
  const items = new Map<string, { exportName: string; file: string }>();
  for (const [exportName, v] of Object.entries(exports)) {
    const item = v as { kind?: string; name?: string; site?: { file?: string } } | null;
    if (!item || typeof item !== 'object' || !item.kind || !item.name || !item.site?.file) continue;
    const key = `${item.kind}:${item.name}`;
    if (!items.has(key)) items.set(key, { exportName, file: item.site.file });
  }
  return { items, exportNames: new Set(Object.keys(exports)), dir: dirname(modulePath), module: modulePath };
}

export interface MemberAddition {
  /** The spec file that declares the set, relative to the spec's folder (e.g. `cdev.ts`). */
  file: string;
  /** The set's export name and C name. */
  exportName: string;
  item: string;
  kind: 'enum' | 'flags';
  key: string;
  value: number;
  /** The member as spec code: `KEY: { value: 0x95, since: '7.3' }`. */
  text: string;
  /** The header's name for it. */
  cName: string;
}

export interface Suggestions {
  since: string;
  /** File name of the new module, e.g. `suggested-7.3.ts`. */
  fileName: string;
  /** The new module's source (empty when every suggestion is a member addition). */
  module: string;
  additions: MemberAddition[];
  /** Header items with no spec form (strings, function-like macros), for the reader. */
  left: { name: string; why: string }[];
}

const hex = (n: number) => (n < 0 ? String(n) : '0x' + n.toString(16));
const IDENT = /^[A-Za-z_$][\w$]*$/;
const keyText = (k: string) => (IDENT.test(k) ? k : `'${k}'`);

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

/** Build the suggestions for a measured header diff against a spec. */
export function suggest(d: HeaderDiff, ir: Ir, spec: SpecIndex): Suggestions {
  const since = d.headerVersion ? d.headerVersion.split('.').slice(0, 2).join('.') : newestRelease(ir);
  const used = new Set(spec.exportNames);
  const imports = new Map<string, Set<string>>(); // file → names
  const dsl = new Set<string>();
  const ref = (kind: string, cName: string): string | undefined => {
    const e = spec.items.get(`${kind}:${cName}`);
    if (!e) return undefined;
    const file = `./${basename(e.file).replace(/\.ts$/, '.js')}`;
    if (!imports.has(file)) imports.set(file, new Set());
    imports.get(file)!.add(e.exportName);
    return e.exportName;
  };
  const fresh = (want: string): string => {
    let name = want;
    for (let i = 2; used.has(name); i++) name = `${want}_${i}`;
    used.add(name);
    return name;
  };
  const body: string[] = [];
  const additions: MemberAddition[] = [];
  const left: Suggestions['left'] = [];

  // structs first (ioctls and features refer to them), in dependency order
  const structs = new Map(d.structs.map((s) => [s.name, s]));
  const structExport = new Map<string, string>();
  const done = new Set<string>();
  const emitStruct = (s: DiffStruct) => {
    if (done.has(s.name)) return;
    done.add(s.name);
    for (const m of s.members) {
      const nested = /^struct\s+(\w+)/.exec(m.cType)?.[1];
      if (nested && structs.has(nested)) emitStruct(structs.get(nested)!);
    }
    const exportName = fresh(s.name);
    structExport.set(s.name, exportName);
    dsl.add('struct');
    const fields = fieldLines(s.members, s.name, since, (n) => structExport.get(n) ?? ref('struct', n), dsl);
    body.push(
      '',
      `/** TODO: describe (${since}). Measured: sizeof ${s.size ?? '?'}, alignof ${s.align ?? '?'}. */`,
      `export const ${exportName} = struct(`,
      `  '${s.name}',`,
      '  {',
      ...fields.map((f) => `    ${f}`),
      '  },',
      `  { since: '${since}'${s.size !== undefined ? `, expect: { size: ${s.size}, align: ${s.align} }` : ''} },`,
      ');',
    );
  };
  for (const s of d.structs) emitStruct(s);

  const features = new Map(Object.values(ir.features).map((f) => [f.index, f]));
  const maxFeature = Math.max(-1, ...Object.values(ir.features).map((f) => f.index));
  // Sets a new value may join: those with a prefix of two words or more (`IOMMUFD_CMD_`, `VFIO_IRQ_INFO_`);
  // a one-word prefix (`VFIO_` of the extension ids) would swallow every new macro.
  const sets = [
    ...Object.entries(ir.enums).map(([name, e]) => ({ name, kind: 'enum' as const, prefix: e.prefix })),
    ...Object.entries(ir.flags).map(([name, e]) => ({ name, kind: 'flags' as const, prefix: e.prefix })),
  ]
    .filter((x) => x.prefix.split('_').filter(Boolean).length >= 2)
    .sort((a, b) => b.prefix.length - a.prefix.length);
  const grouped = new Map<string, DiffMacro[]>();

  for (const m of d.macros) {
    if (typeof m.value !== 'number') {
      left.push({
        name: m.name,
        why: typeof m.value === 'string' ? `string ${JSON.stringify(m.value)}` : (m.note ?? 'not a value'),
      });
      continue;
    }
    if (m.ioctl) {
      body.push(...ioctlLines(m, since, structs, structExport, ref, dsl, fresh));
      continue;
    }
    const short = m.name.startsWith('VFIO_DEVICE_FEATURE_') ? m.name.slice('VFIO_DEVICE_FEATURE_'.length) : null;
    if (short && m.value > maxFeature && m.value < 0x10000 && !features.has(m.value)) {
      body.push(...featureLines(m, short, since, d.structs, structExport, fresh, dsl));
      continue;
    }
    const set = sets.find((x) => m.name.startsWith(x.prefix) && m.name.length > x.prefix.length);
    if (set) {
      const e = spec.items.get(`${set.kind}:${set.name}`);
      if (e) {
        const key = m.name.slice(set.prefix.length);
        additions.push({
          file: relative(spec.dir, e.file),
          exportName: e.exportName,
          item: set.name,
          kind: set.kind,
          key,
          value: m.value,
          cName: m.name,
          text: `${keyText(key)}: { value: ${hex(m.value)}, since: '${since}' }`,
        });
        continue;
      }
    }
    const i = m.name.lastIndexOf('_');
    const prefix = i > 0 ? m.name.slice(0, i + 1) : m.name;
    if (!grouped.has(prefix)) grouped.set(prefix, []);
    grouped.get(prefix)!.push(m);
  }
  for (const [prefix, ms] of grouped) {
    if (ms.length === 1) {
      const m = ms[0]!;
      dsl.add('constant');
      body.push(
        '',
        `/** TODO: describe (${since}). Header: ${m.kind === 'enumerator' ? 'enumerator' : m.definition}. */`,
        `export const ${fresh(m.name)} = constant('${m.name}', ${hex(m.value as number)}, { since: '${since}' });`,
      );
      continue;
    }
    const bits = ms.every((m) => typeof m.value === 'number' && m.value > 0 && (m.value & (m.value - 1)) === 0);
    const builder = bits ? 'flags' : 'enumeration';
    dsl.add(builder);
    // the set's C name doubles as its export name; both must be new to the spec
    const exportName = fresh(`${prefix.replace(/_$/, '').toLowerCase()}${bits ? '_flags' : '_values'}`);
    const cName = exportName;
    body.push(
      '',
      `/** TODO: describe (${since}). */`,
      `export const ${exportName} = ${builder}(`,
      `  '${cName}',`,
      '  {',
    );
    for (const m of ms) body.push(`    ${keyText(m.name.slice(prefix.length))}: ${hex(m.value as number)},`);
    body.push('  },', `  { prefix: '${prefix}', since: '${since}' },`, ');');
  }

  const importLines: string[] = [];
  if (dsl.size) importLines.push(`import { ${[...dsl].sort().join(', ')} } from '../dsl/index.js';`);
  for (const [file, names] of [...imports].sort())
    importLines.push(`import { ${[...names].sort().join(', ')} } from '${file}';`);
  const module = body.length
    ? [
        '/**',
        ` * Spec additions suggested by \`vfio-uapi header-check --diff\` from ${d.include ?? 'the system headers'}` +
          `${d.headerVersion ? ` (Linux ${d.headerVersion})` : ''}.`,
        ` * \`since: '${since}'\` is the header's release: date each item by the release that added it, replace every`,
        ' * TODO, and keep the file or move its items next to their relatives.',
        ' */',
        ...importLines,
        ...body,
        '',
      ].join('\n')
    : '';
  return { since, fileName: `suggested-${since}.ts`, module, additions, left };
}

function newestRelease(ir: Ir): string {
  const all = [
    ...Object.values(ir.structs).map((s) => s.since),
    ...Object.values(ir.constantInfo).map((c) => c.since),
    ...Object.values(ir.ioctls).map((i) => i.since),
  ];
  return all.sort(compareReleases)[all.length - 1]!;
}

/** Spec field declarations for a struct's members (anonymous unions regrouped). */
function fieldLines(
  members: DiffMember[],
  owner: string,
  since: string,
  structRef: (cName: string) => string | undefined,
  dsl: Set<string>,
): string[] {
  const out: string[] = [];
  const typeOf = (m: DiffMember): string => {
    const dims = [...m.cType.matchAll(/\[([^\]]*)\]/g)].map((x) => x[1] ?? '');
    const base = m.cType.replace(/\[.*$/, '').trim();
    const sm = /^struct\s+(\w+)$/.exec(base);
    let t = SCALARS[base];
    if (t) dsl.add(t);
    else if (sm) t = structRef(sm[1]!) ?? `/* TODO: struct ${sm[1]} is not in the spec */ u32`;
    else {
      dsl.add('u32');
      t = `/* TODO: ${base} */ u32`;
    }
    for (const dim of dims.reverse()) {
      if (dim.trim() === '') {
        dsl.add('flex');
        t = `flex(${t})`;
      } else {
        dsl.add('array');
        t = `array(${t}, ${dim.trim()})`;
      }
    }
    return t;
  };
  const note = (m: DiffMember) =>
    `// @${m.offset ?? '?'}${m.size !== undefined ? `, ${m.size} bytes` : m.flex ? ', flexible' : ''}: ${m.cType}${m.bitfield ? ', bit-field' : ''}`;
  for (let i = 0; i < members.length; i++) {
    const m = members[i]!;
    if (!m.inUnion) {
      out.push(`${keyText(m.name)}: ${typeOf(m)}, ${note(m)}`);
      continue;
    }
    // consecutive members of one anonymous union
    const group: DiffMember[] = [];
    while (i < members.length && members[i]!.inUnion && members[i]!.offset === m.offset) group.push(members[i++]!);
    i--;
    dsl.add('union');
    out.push(
      `${keyText(m.name)}: union('${owner}_${m.name}', { ${group.map((g) => `${keyText(g.name)}: ${typeOf(g)}`).join(', ')} }, { since: '${since}', anonymous: true }), // @${m.offset ?? '?'}: anonymous union`,
    );
  }
  return out;
}

function ioctlLines(
  m: DiffMacro,
  since: string,
  structs: Map<string, DiffStruct>,
  structExport: Map<string, string>,
  ref: (kind: string, cName: string) => string | undefined,
  dsl: Set<string>,
  fresh: (n: string) => string,
): string[] {
  const { nr } = m.ioctl!;
  const iommufd = nr >= 0x80;
  const base = iommufd ? ref('const', 'IOMMUFD_CMD_BASE') : ref('const', 'VFIO_BASE');
  const baseValue = iommufd ? 0x80 : 100;
  const fd = iommufd ? ref('fdKind', 'iommufd') : ref('fdKind', 'device');
  const argName = m.name.toLowerCase();
  const argStruct = structs.has(argName) ? structExport.get(argName) : ref('struct', argName);
  dsl.add('ioctl');
  let arg: string;
  if (argStruct) {
    dsl.add('byPointer');
    arg = `byPointer(${argStruct})`;
  } else {
    dsl.add('noArg');
    arg = `noArg /* TODO: the argument (no struct ${argName} in the header or the spec) */`;
  }
  const nrText = base ? `${base}.value + ${hex(nr - baseValue)}` : String(nr);
  const fdText = fd ?? `/* TODO: fd kind */ undefined as never`;
  return [
    '',
    `/** TODO: describe (${since}). Header: ${m.name} = ${m.definition} = ${hex(m.value as number)}. */`,
    `export const ${fresh(m.name)} = ioctl('${m.name}', {`,
    `  nr: ${nrText},`,
    `  on: ${fdText},${iommufd ? '' : ' // TODO: check which fd kind the header says'}`,
    `  arg: ${arg},`,
    `  since: '${since}',`,
    '});',
  ];
}

function featureLines(
  m: DiffMacro,
  short: string,
  since: string,
  structs: DiffStruct[],
  structExport: Map<string, string>,
  fresh: (n: string) => string,
  dsl: Set<string>,
): string[] {
  // the payload: an unknown `struct vfio_device_feature_<x>` whose <x> and the feature's name share a stem
  const stem = short.toLowerCase();
  const payload = structs
    .filter((s) => s.name.startsWith('vfio_device_feature_'))
    .map((s) => ({ s, x: s.name.slice('vfio_device_feature_'.length) }))
    .find(({ x }) => stem.startsWith(x) || x.startsWith(stem))?.s;
  dsl.add('feature');
  return [
    '',
    `/** TODO: describe (${since}). Header: ${m.name} ${m.value}. */`,
    `export const ${fresh(short)} = feature(${m.value}, '${short}', {`,
    `  ops: ['GET', 'SET'], // TODO: keep only what the header's text allows`,
    ...(payload ? [`  payload: ${structExport.get(payload.name)},`] : []),
    `  minsz: ${payload?.size ?? 0},`,
    `  handler: 'driver', // TODO: 'core' when vfio_main.c answers it`,
    `  needs: 'driver_op', // TODO: what a device must have for it`,
    `  since: '${since}',`,
    '});',
  ];
}

/** The suggestions as text: the new module, then the member additions to existing sets. */
export function formatSuggestions(s: Suggestions): string {
  const out: string[] = [];
  if (s.module) out.push(`// ── new module: ${s.fileName} (export it from the spec's index.ts)`, s.module);
  if (s.additions.length) {
    out.push(`// ── members of existing sets (${s.additions.length})`);
    for (const a of s.additions)
      out.push(`// add to ${a.exportName} (${a.kind} ${a.item} in the spec's ${a.file}):  ${a.text},`);
  }
  if (s.left.length) {
    out.push(`// ── header items with no spec form (${s.left.length}): list them in the spec's out-of-scope list`);
    for (const l of s.left) out.push(`//   ${l.name}: ${l.why}`);
  }
  if (!s.module && !s.additions.length && !s.left.length)
    out.push('// nothing: the spec (or its out-of-scope list) knows every item of this header');
  return out.join('\n');
}

/**
 * Write the suggestions into a spec folder: the new module next to the entry module (exported from it),
 * and each member addition into its set's object literal (found with ts-morph by the set's C name).
 */
export async function applySuggestions(s: Suggestions, spec: { dir: string; module: string }): Promise<string[]> {
  const changed: string[] = [];
  if (s.module) {
    const file = join(spec.dir, s.fileName);
    writeFileSync(file, s.module);
    const index = readFileSync(spec.module, 'utf8');
    const line = `export * from './${s.fileName.replace(/\.ts$/, '.js')}';`;
    if (!index.includes(line)) writeFileSync(spec.module, `${index.replace(/\n*$/, '\n')}${line}\n`);
    changed.push(file, spec.module);
  }
  if (s.additions.length) {
    const { Project, SyntaxKind } = await import('ts-morph');
    const project = new Project({ skipAddingFilesFromTsConfig: true });
    for (const [rel, adds] of groupBy(s.additions, (a) => a.file)) {
      const file = join(spec.dir, rel);
      const sf = project.addSourceFileAtPath(file);
      for (const a of adds) {
        const call = sf
          .getDescendantsOfKind(SyntaxKind.CallExpression)
          .find((c) => c.getArguments()[0]?.getText() === `'${a.item}'`);
        const members = call?.getArguments()[1]?.asKind(SyntaxKind.ObjectLiteralExpression);
        if (!members) throw new Error(`${file}: no ${a.kind} '${a.item}' with an object of members to add ${a.key} to`);
        members.addPropertyAssignment({
          name: keyText(a.key),
          initializer: a.text.slice(a.text.indexOf(':') + 1).trim(),
        });
      }
      await sf.save();
      changed.push(file);
    }
  }
  return changed;
}

function groupBy<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    if (!m.has(key(x))) m.set(key(x), []);
    m.get(key(x))!.push(x);
  }
  return m;
}
