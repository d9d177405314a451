import { relative } from 'node:path';
import type {
  Constant,
  Enumeration,
  Feature,
  FdKind,
  FieldType,
  FlagSet,
  FormerName,
  Ioctl,
  OutOfScope,
  KernelFix,
  Rule,
  Site,
  StateMachine,
  StructType,
} from '../../spec/dsl/index.js';
import { deriveTables, capsKey } from '../fsm/derive.js';
import type { DeclDocs } from './docs.js';
import { SpecError, type SpecProblem } from './errors.js';
import { ioGeneric, ioPowerpc } from './ioc.js';
import { cTypeName, layoutHistory, layoutStruct, placeType } from './layout.js';
import type { Ir, IrField, IrRole, IrRule, IrSite, IrStruct, IrType } from './types.js';
import { checkSpec } from '../check/spec-checks.js';

export const IR_VERSION = 2;

/** Doc comments per file and exported name, as read by docs.ts (absent when docs are not read). */
export type DocsLookup = (file: string, exportName: string) => DeclDocs | undefined;

interface Collected {
  structs: { item: StructType; exportName: string }[];
  enums: { item: Enumeration; exportName: string }[];
  flags: { item: FlagSet; exportName: string }[];
  constants: { item: Constant; exportName: string }[];
  fdKinds: { item: FdKind; exportName: string }[];
  ioctls: { item: Ioctl; exportName: string }[];
  features: { item: Feature; exportName: string }[];
  fsms: { item: StateMachine; exportName: string }[];
  rules: { item: Rule; exportName: string }[];
  outOfScope: { item: OutOfScope; exportName: string }[];
  kernelFixes: { item: KernelFix; exportName: string }[];
}

const bySite = (a: { item: { site: Site } }, b: { item: { site: Site } }) =>
  a.item.site.file < b.item.site.file
    ? -1
    : a.item.site.file > b.item.site.file
      ? 1
      : a.item.site.line - b.item.site.line;

/** Sort the module's exports by kind, in declaration order (file, then line). */
export function collect(exports: Record<string, unknown>): Collected {
  const c: Collected = {
    structs: [],
    enums: [],
    flags: [],
    constants: [],
    fdKinds: [],
    ioctls: [],
    features: [],
    fsms: [],
    rules: [],
    outOfScope: [],
    kernelFixes: [],
  };
  for (const [exportName, value] of Object.entries(exports)) {
    if (!value || typeof value !== 'object' || !('kind' in value) || !('site' in value)) continue;
    const entry = { item: value as never, exportName };
    switch ((value as { kind: string }).kind) {
      case 'struct':
        c.structs.push(entry);
        break;
      case 'enum':
        c.enums.push(entry);
        break;
      case 'flags':
        c.flags.push(entry);
        break;
      case 'const':
        c.constants.push(entry);
        break;
      case 'fdKind':
        c.fdKinds.push(entry);
        break;
      case 'ioctl':
        c.ioctls.push(entry);
        break;
      case 'feature':
        c.features.push(entry);
        break;
      case 'fsm':
        c.fsms.push(entry);
        break;
      case 'rule':
        c.rules.push(entry);
        break;
      case 'outOfScope':
        c.outOfScope.push(entry);
        break;
      case 'kernelFix':
        c.kernelFixes.push(entry);
        break;
    }
  }
  for (const list of Object.values(c)) (list as { item: { site: Site } }[]).sort(bySite);
  return c;
}

/** Build the IR from a spec module's exports. Throws SpecError listing every problem, each with file:line. */
export function buildIr(exports: Record<string, unknown>, root: string, docs: DocsLookup = () => undefined): Ir {
  const c = collect(exports);
  const site = (s: Site): IrSite => ({ file: relative(root, s.file) || s.file, line: s.line });
  const docOf = (item: { site: Site; doc?: string }, exportName: string) =>
    item.doc ?? docs(item.site.file, exportName)?.doc ?? '';
  const propsOf = (item: { site: Site }, exportName: string) => docs(item.site.file, exportName)?.props ?? {};
  const problems: SpecProblem[] = [];

  const ir: Ir = {
    meta: { generator: 'vfio-uapi', irVersion: IR_VERSION, specFiles: [] },
    constants: {},
    constantInfo: {},
    formerNames: {},
    outOfScope: {},
    enums: {},
    flags: {},
    states: {},
    fdKinds: {},
    structs: {},
    ioctls: {},
    features: {},
    fsm: undefined as never,
    rules: {},
    kernelFixes: [],
  };
  const files = new Set<string>();
  const note = (s: Site) => files.add(site(s).file);
  const addConstant = (
    name: string,
    value: number,
    from: string,
    since: string,
    doc: string,
    at: Site,
    formerly: readonly FormerName[] = [],
  ) => {
    if (name in ir.constants && ir.constants[name] !== value) {
      problems.push({
        site: site(at),
        message: `constant ${name} is defined twice (${ir.constants[name]} and ${value})`,
        hint: 'rename one of them or remove the duplicate',
      });
    }
    ir.constants[name] = value;
    ir.constantInfo[name] = { from, since, ...(formerly.length ? { nameSince: formerly[0]!.until } : {}), doc };
    // formerly is newest first; each older name runs from the previous rename (or the value's since)
    const oldestFirst = [...formerly].reverse();
    oldestFirst.forEach((f, i) => {
      (ir.formerNames[f.name] ??= []).push({
        current: name,
        value,
        from: i === 0 ? since : oldestFirst[i - 1]!.until,
        until: f.until,
      });
    });
  };

  for (const { item, exportName } of c.constants) {
    note(item.site);
    addConstant(item.name, item.value, item.name, item.since, docOf(item, exportName), item.site, item.formerly);
  }
  for (const { item, exportName } of c.enums) {
    note(item.site);
    const props = propsOf(item, exportName);
    const members = Object.fromEntries(
      Object.entries(item.members).map(([k, m]) => [
        k,
        { value: m.value, since: m.since, doc: m.doc ?? props[k] ?? '' },
      ]),
    );
    ir.enums[item.name] = {
      since: item.since,
      doc: docOf(item, exportName),
      site: site(item.site),
      prefix: item.prefix,
      members,
    };
    for (const [k, m] of Object.entries(members))
      addConstant(item.prefix + k, m.value, item.name, m.since, m.doc, item.site, item.members[k]!.formerly);
  }
  for (const { item, exportName } of c.flags) {
    note(item.site);
    const props = propsOf(item, exportName);
    const conv = (ms: Record<string, { value: number; since: string; doc?: string }>) =>
      Object.fromEntries(
        Object.entries(ms).map(([k, m]) => [k, { value: m.value, since: m.since, doc: m.doc ?? props[k] ?? '' }]),
      );
    const members = conv(item.members);
    const masks = conv(item.masks);
    ir.flags[item.name] = {
      since: item.since,
      doc: docOf(item, exportName),
      site: site(item.site),
      prefix: item.prefix,
      members,
      masks,
    };
    for (const [k, m] of [...Object.entries(members), ...Object.entries(masks)])
      addConstant(
        item.prefix + k,
        m.value,
        item.name,
        m.since,
        m.doc,
        item.site,
        item.members[k]?.formerly ?? item.masks[k]?.formerly,
      );
  }
  for (const { item, exportName } of c.fdKinds) {
    note(item.site);
    ir.fdKinds[item.name] = {
      since: item.since,
      doc: docOf(item, exportName),
      site: site(item.site),
      obtainedBy: item.obtainedBy,
      ...(item.extends ? { extends: item.extends } : {}),
    };
  }

  const roleOf = (t: FieldType): IrRole => {
    if (t.kind !== 'scalar') return { kind: 'plain' };
    const r = t.role;
    switch (r.kind) {
      case 'flags':
        return { kind: 'flags', flags: r.flags.name };
      case 'enum':
        return { kind: 'enum', enum: r.enumeration.name };
      case 'pointer':
        return { kind: 'pointer', required: r.required };
      default:
        return { kind: r.kind };
    }
  };
  const typeOf = (t: FieldType): IrType => {
    switch (t.kind) {
      case 'scalar':
        return { kind: 'scalar', scalar: t.scalar, size: t.size, signed: t.signed, forceAlign8: t.forceAlign8 };
      case 'array':
        return { kind: 'array', element: typeOf(t.element), length: t.length };
      case 'flex':
        return { kind: 'flex', element: typeOf(t.element), ...(t.countedBy ? { countedBy: t.countedBy } : {}) };
      case 'struct':
        return { kind: 'struct', struct: t.name };
      case 'union': {
        const members: IrField[] = Object.entries(t.fields).map(([n, ft]) => fieldOf(n, ft, 0, '', {}));
        return { kind: 'union', union: t.name, anonymous: t.anonymous, members };
      }
    }
  };
  const fieldOf = (name: string, t: FieldType, offset: number, doc: string, _p: object): IrField => {
    const p = placeType(t, 'lp64');
    const leaf = t.kind === 'scalar' || t.kind === 'array' || t.kind === 'flex';
    const fieldSince = leaf && t.since ? t.since : undefined;
    const history = leaf
      ? (t.history ?? []).map((r) => ({
          until: r.until,
          ...(r.name ? { name: r.name } : {}),
          ...(r.type ? { type: cTypeName(r.type) } : {}),
        }))
      : [];
    return {
      name,
      offset,
      size: p.size,
      align: p.align,
      type: cTypeName(t),
      ir: typeOf(t),
      role: roleOf(t),
      direction: t.kind === 'scalar' ? t.direction : 'inout',
      ...(fieldSince ? { since: fieldSince } : {}),
      ...(history.length ? { history } : {}),
      doc,
    };
  };

  for (const { item, exportName } of c.structs) {
    note(item.site);
    if (ir.structs[item.name]) {
      continue; // checkSpec reports the duplicate with both locations
    }
    const lp = layoutStruct(item, 'lp64');
    const i3 = layoutStruct(item, 'i386');
    const props = propsOf(item, exportName);
    const fields = Object.entries(item.fields).map(([n, t]) => fieldOf(n, t, lp.offsets[n]!, props[n] ?? '', {}));
    let minsz = lp.size;
    if (typeof item.minsz === 'number') minsz = item.minsz;
    else if (typeof item.minsz === 'string') {
      const f = fields.find((x) => x.name === item.minsz);
      if (!f)
        problems.push({
          site: site(item.site),
          message: `struct ${item.name}: minsz names field "${item.minsz}", which it does not have`,
          hint: `use one of ${fields.map((x) => x.name).join(', ')}`,
        });
      else minsz = f.offset + f.size;
    }
    const s: IrStruct = {
      since: item.since,
      doc: docOf(item, exportName),
      site: site(item.site),
      size: lp.size,
      align: lp.align,
      minsz,
      fields,
      i386: { size: i3.size, align: i3.align, offsets: i3.offsets },
      versions: layoutHistory(item),
    };
    ir.structs[item.name] = s;
  }

  for (const { item, exportName } of c.ioctls) {
    note(item.site);
    if (ir.ioctls[item.name]) {
      continue; // checkSpec reports the duplicate with both locations
    }
    const a = item.arg;
    ir.ioctls[item.name] = {
      since: item.since,
      doc: docOf(item, exportName),
      site: site(item.site),
      number: ioGeneric(item.type, item.nr),
      numberByArch: { generic: ioGeneric(item.type, item.nr), powerpc: ioPowerpc(item.type, item.nr) },
      type: item.type,
      nr: item.nr,
      fd: item.on,
      arg: {
        kind: a.kind,
        ...(a.kind === 'struct' ? { struct: a.struct.name } : {}),
        ...(a.kind === 'value' ? { scalar: a.type.scalar } : {}),
        ...(a.kind === 'opaque' ? { cType: a.cType } : {}),
      },
      ...(item.minsz !== undefined ? { minsz: item.minsz } : {}),
      ...(item.returnsFd ? { returnsFd: item.returnsFd } : {}),
    };
  }

  for (const { item, exportName } of c.features) {
    note(item.site);
    ir.features[item.name] = {
      since: item.since,
      doc: docOf(item, exportName),
      site: site(item.site),
      index: item.index,
      short: item.short,
      ops: [...item.ops],
      payload: item.payload?.name ?? null,
      minsz: item.minsz,
      handler: item.handler,
      needs: item.needs,
      missing: item.missing,
      ...(item.returnsFd ? { returnsFd: item.returnsFd } : {}),
    };
    addConstant(item.name, item.index, 'vfio_device_feature', item.since, docOf(item, exportName), item.site);
  }

  if (c.fsms.length !== 1) {
    const at = c.fsms[1]?.item.site ?? c.rules[0]?.item.site ?? { file: root, line: 0 };
    problems.push({
      site: site(at),
      message: `the spec must declare exactly one stateMachine, found ${c.fsms.length}`,
      hint: 'export one stateMachine(...) from the spec module',
    });
  } else {
    const { item, exportName } = c.fsms[0]!;
    note(item.site);
    const stateEnum = ir.enums[item.states];
    const capFlags = ir.flags[item.capabilities];
    const states = stateEnum
      ? Object.entries(stateEnum.members)
          .filter(([k]) => k in item.requires)
          .sort((a, b) => a[1].value - b[1].value)
          .map(([k]) => k)
      : Object.keys(item.requires);
    const capOrder = capFlags
      ? Object.entries(capFlags.members)
          .sort((a, b) => a[1].value - b[1].value)
          .map(([k]) => k)
      : [];
    const shape = {
      since: item.since,
      doc: docOf(item, exportName),
      site: site(item.site),
      name: item.name,
      stateEnum: item.states,
      capabilityFlags: item.capabilities,
      states,
      mandatory: [...item.mandatory],
      capabilitySets: item.capabilitySets.map((cs) => capsKey(cs, capOrder)),
      requires: Object.fromEntries(Object.entries(item.requires).map(([k, v]) => [k, v ? [...v] : null])),
      initial: item.initial,
      error: item.error,
      endpointOnly: [...item.endpointOnly],
      arcs: item.arcs.map((a) => ({
        from: a.from,
        to: a.to,
        when: [...a.when],
        unless: [...a.unless],
        fd: a.fd,
        ...(a.since ? { since: a.since } : {}),
        doc: a.doc ?? '',
        site: site(a.site),
      })),
      forbidden: item.forbidden.map((f) => ({
        from: f.from,
        to: f.to,
        errno: f.errno,
        when: [...(f.when ?? [])],
        unless: [...(f.unless ?? [])],
        ...(f.kernelFix ? { kernelFix: f.kernelFix } : {}),
        doc: f.doc ?? '',
        site: site(f.site),
      })),
    };
    ir.fsm = { ...shape, paths: {}, next: {} };
    if (stateEnum) for (const s of states) ir.states[s] = stateEnum.members[s]!.value;
    if (stateEnum)
      for (const [k, m] of Object.entries(stateEnum.members)) if (!(k in ir.states)) ir.states[k] = m.value;
  }

  for (const { item, exportName } of c.rules) {
    note(item.site);
    if (ir.rules[item.name]) {
      problems.push({
        site: site(item.site),
        message: `rule id ${item.name} is used twice`,
        hint: 'give each rule its own id',
      });
      continue;
    }
    const b = item.body;
    const r: IrRule = {
      id: item.name,
      since: item.since,
      doc: docOf(item, exportName),
      site: site(item.site),
      strength: item.strength,
      ...(item.tolerance ? { tolerance: { ...item.tolerance } } : {}),
      kind: b.kind,
    };
    switch (b.kind) {
      case 'state-validity':
        Object.assign(r, {
          op: b.op,
          on: b.on,
          validIn: b.validIn === 'any' ? 'any' : [...b.validIn],
          otherwise: b.otherwise,
          ...(b.otherwiseStrength ? { otherwiseStrength: b.otherwiseStrength } : {}),
        });
        break;
      case 'stream':
        Object.assign(r, { io: b.io, on: b.on, perState: JSON.parse(JSON.stringify(b.perState)) });
        break;
      case 'errno':
        Object.assign(r, {
          op: b.op,
          on: b.on,
          condition: b.condition,
          errno: b.errno,
          ...(b.order !== undefined ? { order: b.order } : {}),
        });
        break;
      case 'capability':
        Object.assign(r, {
          ifCaps: [...b.ifCaps],
          ...(b.requiresOp ? { requiresOp: b.requiresOp } : {}),
          ...(b.requiresCaps ? { requiresCaps: [...b.requiresCaps] } : {}),
        });
        break;
    }
    ir.rules[item.name] = r;
  }

  if (c.outOfScope.length > 1) {
    const [a, b] = c.outOfScope.map((o) => site(o.item.site));
    problems.push({
      site: b!,
      message: `the spec has ${c.outOfScope.length} out-of-scope lists (${a!.file}:${a!.line} and ${b!.file}:${b!.line})`,
      hint: 'keep one outOfScope([...]) list and move every group into it',
    });
  }
  for (const { item } of c.outOfScope) {
    note(item.site);
    for (const g of item.groups)
      for (const n of g.names) {
        if (n in ir.outOfScope)
          problems.push({
            site: site(item.site),
            message: `out-of-scope list names ${n} twice`,
            hint: 'keep it in one group',
          });
        ir.outOfScope[n] = g.reason;
      }
  }
  // Kernel fixes, oldest first; each lists the forbidden requests that name it.
  for (const { item } of [...c.kernelFixes].sort((a, b) => (a.item.date < b.item.date ? -1 : 1))) {
    note(item.site);
    if (ir.kernelFixes.some((k) => k.id === item.name)) {
      problems.push({
        site: site(item.site),
        message: `kernel fix id ${item.name} is used twice`,
        hint: 'give each kernel fix its own id',
      });
      continue;
    }
    ir.kernelFixes.push({
      id: item.name,
      commit: item.commit,
      subject: item.subject,
      date: item.date,
      ...(item.merged ? { merged: item.merged } : {}),
      fixedIn: { mainline: item.fixedIn.mainline, stable: [...item.fixedIn.stable] },
      ...(item.fixes ? { fixes: { ...item.fixes } } : {}),
      before: item.before,
      after: item.after,
      about: item.about,
      ...(item.stepAlgorithm ? { stepAlgorithm: item.stepAlgorithm } : {}),
      requests: (ir.fsm?.forbidden ?? []).filter((f) => f.kernelFix === item.name).map((f) => `${f.from}->${f.to}`),
      sources: [...item.sources],
      site: site(item.site),
    });
  }

  ir.meta.specFiles = [...files].sort();
  problems.push(...checkSpec(ir, c, site));
  if (problems.length) throw new SpecError(problems);
  Object.assign(ir.fsm, deriveTables(ir.fsm));
  return ir;
}

export type { Collected };
