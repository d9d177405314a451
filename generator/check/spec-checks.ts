import type { Site } from '../../spec/dsl/index.js';
import { compareReleases } from '../../spec/dsl/release.js';
import type { Collected } from '../ir/build.js';
import type { SpecProblem } from '../ir/errors.js';
import type { Ir, IrSite } from '../ir/types.js';

const IO_OPS = ['read', 'write', 'pread', 'pwrite', 'lseek', 'poll'];

/**
 * Consistency checks a spec must pass before anything is generated from it. Each problem names the
 * declaration's file:line and says what to do.
 */
export function checkSpec(ir: Ir, c: Collected, site: (s: Site) => IrSite): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const add = (at: Site | IrSite, message: string, hint: string) =>
    problems.push({ site: 'file' in at && at.file.startsWith('/') ? site(at as Site) : (at as IrSite), message, hint });

  // Exported names must be unique per kind (two variables declaring the same C name).
  const seen = new Map<string, Site>();
  for (const list of [c.structs, c.enums, c.flags, c.constants, c.fdKinds, c.ioctls, c.features]) {
    for (const { item } of list) {
      const key = `${item.kind}:${item.name}`;
      const prior = seen.get(key);
      if (prior && prior !== item.site) {
        const p = site(prior);
        const q = site(item.site);
        add(
          item.site,
          `duplicate ${item.kind} name ${item.name}: declared at ${p.file}:${p.line} and at ${q.file}:${q.line}`,
          'rename one of them or remove the duplicate',
        );
      }
      seen.set(key, item.site);
    }
  }

  // ioctl numbers are unique per fd kind, counting kinds that extend another (a cdev is also a device fd).
  const kindsOf = (fd: string): string[] => {
    const ext = ir.fdKinds[fd]?.extends;
    return ext ? [fd, ...kindsOf(ext)] : [fd];
  };
  const byNumber = new Map<string, { name: string; site: Site }>();
  for (const { item } of c.ioctls) {
    if (!ir.fdKinds[item.on]) {
      add(
        item.site,
        `ioctl ${item.name} is issued on unknown fd kind "${item.on}"`,
        `declare it with fdKind() or use one of ${Object.keys(ir.fdKinds).join(', ')}`,
      );
      continue;
    }
    for (const k of kindsOf(item.on)) {
      const key = `${k}:${item.type}:${item.nr}`;
      const other = byNumber.get(key);
      if (other && other.name !== item.name) {
        const a = site(other.site);
        const b = site(item.site);
        const number = `0x${((item.type << 8) | item.nr).toString(16)}`;
        add(
          item.site,
          `ioctl number ${number} is used on fd kind ${k} by both ${other.name} (${a.file}:${a.line}) and ${item.name} (${b.file}:${b.line})`,
          'numbers may repeat only across different fd kinds; pick a free nr',
        );
      }
    }
    byNumber.set(`${item.on}:${item.type}:${item.nr}`, { name: item.name, site: item.site });
    if (item.returnsFd && !ir.fdKinds[item.returnsFd])
      add(item.site, `ioctl ${item.name} returns unknown fd kind "${item.returnsFd}"`, 'declare it with fdKind()');
  }

  // Flag bits and enum values are unique within their set.
  for (const { item } of [...c.flags, ...c.enums]) {
    const values = new Map<number, string>();
    for (const [k, m] of Object.entries(item.members)) {
      const other = values.get(m.value);
      if (other !== undefined)
        add(
          m.site,
          `${item.kind === 'flags' ? 'flag bit' : 'value'} ${m.value} of ${item.name} is used by both ${other} and ${k}`,
          'give each member its own value',
        );
      values.set(m.value, k);
    }
  }

  // Features: unique index, payload at least the declared minimum.
  const indexes = new Map<number, string>();
  for (const { item } of c.features) {
    const other = indexes.get(item.index);
    if (other)
      add(
        item.site,
        `feature index ${item.index} is used by both ${other} and ${item.name}`,
        'each VFIO_DEVICE_FEATURE index names one feature',
      );
    indexes.set(item.index, item.name);
    if (item.payload) {
      const size = ir.structs[item.payload.name]?.size ?? 0;
      if (size < item.minsz)
        add(
          item.site,
          `feature ${item.name} requires a ${item.minsz}-byte payload but its payload ${item.payload.name} is ${size} bytes`,
          'lower minsz or grow the payload struct',
        );
    }
  }

  // Struct layouts match what the spec states; flexible arrays come last and count by a real field.
  for (const { item } of c.structs) {
    const s = ir.structs[item.name];
    if (!s) continue;
    const e = item.expect;
    if (e?.size !== undefined && e.size !== s.size)
      add(
        item.site,
        `struct ${item.name} is ${s.size} bytes by the C layout rules, but the spec expects ${e.size}`,
        'fix the field types or the expected size',
      );
    if (e?.align !== undefined && e.align !== s.align)
      add(
        item.site,
        `struct ${item.name} is ${s.align}-aligned by the C layout rules, but the spec expects ${e.align}`,
        'fix the field types or the expected alignment',
      );
    for (const [f, off] of Object.entries(e?.offsets ?? {})) {
      const field = s.fields.find((x) => x.name === f);
      if (!field)
        add(
          item.site,
          `struct ${item.name} expects an offset for "${f}", which it does not have`,
          'fix the field name',
        );
      else if (field.offset !== off)
        add(
          item.site,
          `struct ${item.name}: field ${f} is at offset ${field.offset}, but the spec expects ${off}`,
          'fix the preceding fields or the expected offset',
        );
    }
    s.fields.forEach((f, i) => {
      if (f.ir.kind === 'flex' && i !== s.fields.length - 1)
        add(item.site, `struct ${item.name}: flexible array ${f.name} is not the last field`, 'move it to the end');
      if (
        f.ir.kind === 'flex' &&
        f.ir.countedBy &&
        !s.fields.some((x) => x.name === (f.ir as { countedBy: string }).countedBy)
      )
        add(
          item.site,
          `struct ${item.name}: ${f.name} is counted by "${f.ir.countedBy}", which is not a field`,
          'name a field of the same struct',
        );
    });
    if (s.minsz > s.size)
      add(item.site, `struct ${item.name}: minsz ${s.minsz} is larger than the struct (${s.size})`, 'lower minsz');
  }

  // The state machine names only states, capabilities and fd kinds that exist.
  const f = ir.fsm;
  const fsmItem = c.fsms[0]?.item;
  if (f && fsmItem) {
    const stateEnum = ir.enums[f.stateEnum];
    const capFlags = ir.flags[f.capabilityFlags];
    if (!stateEnum)
      add(fsmItem.site, `state machine uses unknown enumeration ${f.stateEnum}`, 'pass an enumeration() value');
    if (!capFlags)
      add(fsmItem.site, `state machine uses unknown flag set ${f.capabilityFlags}`, 'pass a flags() value');
    const isState = (s: string) => !stateEnum || s in stateEnum.members;
    const isCap = (s: string) => !capFlags || s in capFlags.members;
    const needState = (s: string, at: Site | IrSite, what: string) => {
      if (!isState(s))
        add(
          at,
          `${what} names unknown state "${s}"`,
          `use one of ${stateEnum ? Object.keys(stateEnum.members).join(', ') : ''}`,
        );
    };
    const needCap = (s: string, at: Site | IrSite, what: string) => {
      if (!isCap(s))
        add(
          at,
          `${what} names unknown capability "${s}"`,
          `use one of ${capFlags ? Object.keys(capFlags.members).join(', ') : ''}`,
        );
    };
    for (const [s, req] of Object.entries(f.requires)) {
      needState(s, fsmItem.site, 'requires');
      for (const cap of req ?? []) needCap(cap, fsmItem.site, `requires.${s}`);
    }
    for (const s of [f.initial, f.error, ...f.endpointOnly]) needState(s, fsmItem.site, 'state machine');
    for (const cs of fsmItem.capabilitySets) for (const cap of cs) needCap(cap, fsmItem.site, 'capabilitySets');
    for (const cap of f.mandatory) needCap(cap, fsmItem.site, 'mandatory');
    for (const a of f.arcs) {
      needState(a.from, a.site, `arc ${a.from}->${a.to}`);
      needState(a.to, a.site, `arc ${a.from}->${a.to}`);
      if (!(a.from in f.requires) || !(a.to in f.requires))
        add(a.site, `arc ${a.from}->${a.to} uses a state missing from requires`, 'add the state to requires');
      for (const cap of [...a.when, ...a.unless]) needCap(cap, a.site, `arc ${a.from}->${a.to}`);
    }
    const fixIds = new Set(c.kernelFixes.map((k) => k.item.name));
    for (const fb of f.forbidden) {
      needState(fb.from, fb.site, `forbidden ${fb.from}->${fb.to}`);
      needState(fb.to, fb.site, `forbidden ${fb.from}->${fb.to}`);
      for (const cap of [...fb.when, ...fb.unless]) needCap(cap, fb.site, `forbidden ${fb.from}->${fb.to}`);
      if (fb.kernelFix !== undefined && !fixIds.has(fb.kernelFix))
        add(
          fb.site,
          `forbidden ${fb.from}->${fb.to} names unknown kernel fix "${fb.kernelFix}"`,
          'export the kernelFix() value from the spec module',
        );
    }
    if (!ir.fdKinds[fsmItem.dataFd])
      add(fsmItem.site, `state machine data fd kind "${fsmItem.dataFd}" is unknown`, 'declare it with fdKind()');
  }

  // Rules name known ops, fd kinds, states and capabilities.
  const featureOps = new Set(Object.entries(ir.features).flatMap(([n, ft]) => ft.ops.map((o) => `${n}:${o}`)));
  const opKnown = (op: string) =>
    op in ir.ioctls ||
    featureOps.has(op) ||
    IO_OPS.includes(op) ||
    op === 'unknown ioctl' ||
    (op.startsWith('any ioctl but ') && op.slice('any ioctl but '.length) in ir.ioctls);
  for (const { item } of c.rules) {
    const b = item.body;
    const what = `rule ${item.name}`;
    if ('op' in b && b.op !== undefined && !opKnown(b.op))
      add(
        item.site,
        `${what} names unknown operation "${b.op}"`,
        'use an ioctl name, FEATURE_NAME:GET|SET, or read/write/pread/pwrite/lseek/poll',
      );
    if ('requiresOp' in b && b.requiresOp !== undefined && !opKnown(b.requiresOp))
      add(item.site, `${what} names unknown operation "${b.requiresOp}"`, 'use an ioctl name or FEATURE_NAME:GET|SET');
    if ('on' in b && !ir.fdKinds[b.on])
      add(item.site, `${what} names unknown fd kind "${b.on}"`, `use one of ${Object.keys(ir.fdKinds).join(', ')}`);
    const states = f ? new Set(Object.keys(f.requires)) : new Set<string>();
    if (b.kind === 'state-validity' && b.validIn !== 'any')
      for (const s of b.validIn)
        if (!states.has(s))
          add(item.site, `${what} names unknown state "${s}"`, `use one of ${[...states].join(', ')}`);
    if (b.kind === 'stream')
      for (const s of Object.keys(b.perState))
        if (!states.has(s))
          add(item.site, `${what} names unknown state "${s}"`, `use one of ${[...states].join(', ')}`);
    if (b.kind === 'capability') {
      const caps = ir.flags[f?.capabilityFlags ?? '']?.members ?? {};
      for (const cap of [...b.ifCaps, ...(b.requiresCaps ?? [])])
        if (!(cap in caps))
          add(item.site, `${what} names unknown capability "${cap}"`, `use one of ${Object.keys(caps).join(', ')}`);
    }
  }
  // Names through time: an earlier name may be reused later, but two meanings of one name never overlap,
  // and an out-of-scope name is not also described.
  const siteOfConstant = (name: string): Site | IrSite => {
    const from = ir.constantInfo[name]?.from;
    return (
      c.constants.find((x) => x.item.name === name)?.item.site ??
      [...c.enums, ...c.flags].find((x) => x.item.name === from)?.item.site ?? { file: 'spec', line: 0 }
    );
  };
  for (const [name, meanings] of Object.entries(ir.formerNames)) {
    const spans = meanings.map((m) => ({
      from: m.from,
      until: m.until as string | undefined,
      what: `${m.current} before ${m.until}`,
    }));
    if (name in ir.constants) {
      const info = ir.constantInfo[name]!;
      spans.push({ from: info.nameSince ?? info.since, until: undefined, what: `${name} itself` });
    }
    for (const m of meanings)
      if (compareReleases(m.until, m.from) <= 0)
        add(
          siteOfConstant(m.current),
          `${m.current}: former name ${name} ends at ${m.until}, before it starts (${m.from})`,
          'fix the formerly list: each rename must come after the previous one and after since',
        );
    for (let i = 0; i < spans.length; i++)
      for (let j = i + 1; j < spans.length; j++) {
        const a = spans[i]!;
        const b = spans[j]!;
        const overlap =
          (!b.until || compareReleases(a.from, b.until) < 0) && (!a.until || compareReleases(b.from, a.until) < 0);
        if (overlap)
          add(
            siteOfConstant(name in ir.constants ? name : meanings[0]!.current),
            `the name ${name} means two things at once: ${a.what} (from ${a.from}) and ${b.what} (from ${b.from})`,
            'a name may only be reused after its earlier meaning was renamed away; fix since/until',
          );
      }
  }
  const described = new Set([
    ...Object.keys(ir.constants),
    ...Object.keys(ir.ioctls),
    ...Object.keys(ir.structs),
    ...Object.keys(ir.formerNames),
  ]);
  for (const { item } of c.outOfScope)
    for (const g of item.groups)
      for (const n of g.names)
        if (described.has(n))
          add(
            item.site,
            `${n} is both described by the spec and listed as out of scope ("${g.reason}")`,
            'remove it from the out-of-scope list',
          );

  return problems;
}
