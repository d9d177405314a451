/**
 * Semantic diff of two IRs: every change that means something to userspace or to drivers, each with
 * a rule id, both sites, and a classification per audience. Site moves alone are not changes.
 */
import type { Ir, IrField, IrItem, IrRule, IrSite, IrStruct } from '../ir/types.js';
import { breaks, ok, review, worst, type Change, type Impact } from './changes.js';

const eq = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const list = (xs: Iterable<string>) => [...xs].join(', ');
const sorted = <T>(o: Record<string, T>) => Object.keys(o).sort();

interface Ctx {
  a: Ir;
  b: Ir;
  out: Change[];
  /** States, capabilities and operations that exist only in the new side. */
  newStates: Set<string>;
  newCaps: Set<string>;
  newOps: Set<string>;
  goneStates: Set<string>;
  goneCaps: Set<string>;
  goneOps: Set<string>;
}

function add(
  ctx: Ctx,
  rule: string,
  item: string,
  message: string,
  sites: { old?: IrSite | undefined; new?: IrSite | undefined },
  userspace: Impact,
  drivers: Impact,
  details?: string[],
) {
  ctx.out.push({
    rule,
    item,
    message,
    ...(sites.old ? { old: sites.old } : {}),
    ...(sites.new ? { new: sites.new } : {}),
    userspace,
    drivers,
    severity: worst(userspace.level, drivers.level),
    ...(details?.length ? { details } : {}),
  });
}

/** since and doc of any item. `docRule` replaces item.doc-changed where the doc is the meaning. */
function common(ctx: Ctx, what: string, item: string, x: IrItem, y: IrItem, docMeaning = false) {
  const sites = { old: x.site, new: y.site };
  if (x.since !== y.since)
    add(
      ctx,
      'item.since-changed',
      item,
      `${what} ${item}: since ${x.since} → ${y.since}`,
      sites,
      review('programs that gate on the kernel release to use it must use the new release'),
      ok('release metadata only'),
    );
  if ((x.doc ?? '') !== (y.doc ?? '')) {
    if (docMeaning)
      add(
        ctx,
        'rule.behaviour-changed',
        item,
        `${what} ${item}: the stated behaviour changed`,
        sites,
        review('the behaviour is defined by this text; check callers against the new wording'),
        review('the behaviour is defined by this text; check drivers against the new wording'),
        [`old: ${x.doc || '(none)'}`, `new: ${y.doc || '(none)'}`],
      );
    else
      add(
        ctx,
        'item.doc-changed',
        item,
        `${what} ${item}: documentation changed`,
        sites,
        ok('documentation only'),
        ok('documentation only'),
        [`old: ${x.doc || '(none)'}`, `new: ${y.doc || '(none)'}`],
      );
  }
}

// ---------------------------------------------------------------- structs

function hasArgsz(s: IrStruct) {
  return s.fields.some((f) => f.role.kind === 'argsz');
}

function diffStruct(ctx: Ctx, name: string, x: IrStruct, y: IrStruct) {
  const sites = { old: x.site, new: y.site };
  const xf = new Map(x.fields.map((f) => [f.name, f]));
  const yf = new Map(y.fields.map((f) => [f.name, f]));
  const renamedTo = new Map<string, IrField>();
  let layoutBroken = false;
  for (const f of x.fields) {
    if (yf.has(f.name)) continue;
    const twin = y.fields.find(
      (g) => !xf.has(g.name) && g.offset === f.offset && g.type === f.type && g.size === f.size,
    );
    if (twin) {
      renamedTo.set(twin.name, f);
      add(
        ctx,
        'struct.field-renamed',
        `${name}.${f.name}`,
        `struct ${name}: field ${f.name} renamed to ${twin.name} (same offset ${f.offset}, type ${f.type})`,
        sites,
        review('binary compatible; source that names the old field no longer compiles'),
        ok('same bytes'),
      );
    } else {
      layoutBroken = true;
      add(
        ctx,
        'struct.field-removed',
        `${name}.${f.name}`,
        `struct ${name}: field ${f.name} (offset ${f.offset}, ${f.type}) removed`,
        sites,
        breaks('the bytes userspace fills or reads there lose their meaning'),
        breaks('drivers reading or writing the field must stop'),
      );
    }
  }
  const appended: IrField[] = [];
  for (const g of y.fields) {
    const f = xf.get(g.name) ?? renamedTo.get(g.name);
    if (!f) {
      if (g.offset >= x.size) appended.push(g);
      else {
        layoutBroken = true;
        add(
          ctx,
          'struct.field-added',
          `${name}.${g.name}`,
          `struct ${name}: field ${g.name} (${g.type}) added at offset ${g.offset}, inside the old struct`,
          sites,
          review('bytes that were padding or another field now carry this field'),
          review('drivers must handle the field'),
        );
      }
      continue;
    }
    const fi = `${name}.${g.name}`;
    if (f.offset !== g.offset) {
      layoutBroken = true;
      add(
        ctx,
        'struct.field-offset-changed',
        fi,
        `struct ${name}: field ${g.name} moved from offset ${f.offset} to ${g.offset}`,
        sites,
        breaks('ABI break: binaries built against the old layout read and write the wrong bytes'),
        breaks('ABI break: the kernel and old binaries disagree on the layout'),
      );
    }
    if (f.type !== g.type || f.size !== g.size || !eq(f.ir, g.ir)) {
      layoutBroken = true;
      add(
        ctx,
        'struct.field-type-changed',
        fi,
        `struct ${name}: field ${g.name} changed type ${f.type} (${f.size} B) → ${g.type} (${g.size} B)`,
        sites,
        breaks('ABI break: the field is encoded differently'),
        breaks('ABI break: the field is decoded differently'),
      );
    }
    if (!eq(f.role, g.role)) {
      const fromPlain = f.role.kind === 'plain' || f.role.kind === 'reserved';
      const roleName = (r: IrField['role']) =>
        r.kind === 'flags' ? `flags of ${r.flags}` : r.kind === 'enum' ? `enum ${r.enum}` : r.kind;
      add(
        ctx,
        'struct.field-role-changed',
        fi,
        `struct ${name}: field ${g.name} is now ${roleName(g.role)} (was ${roleName(f.role)})`,
        sites,
        fromPlain
          ? ok('the field gains a meaning; programs that ignored it keep working')
          : review('validators and callers interpret the field differently'),
        review('drivers must fill in or check the field as the new role says'),
      );
    }
    if (f.direction !== g.direction)
      add(
        ctx,
        'struct.field-direction-changed',
        fi,
        `struct ${name}: field ${g.name} direction ${f.direction} → ${g.direction}`,
        sites,
        review('who writes the field changed'),
        review('who writes the field changed'),
      );
    if ((f.since ?? '') !== (g.since ?? ''))
      add(
        ctx,
        'item.since-changed',
        fi,
        `struct ${name}: field ${g.name} since ${f.since ?? x.since} → ${g.since ?? y.since}`,
        sites,
        review('programs that check argsz or the release before using the field must use the new release'),
        ok('release metadata only'),
      );
    if (f.doc !== g.doc)
      add(
        ctx,
        'item.doc-changed',
        fi,
        `struct ${name}: documentation of field ${g.name} changed`,
        sites,
        ok('documentation only'),
        ok('documentation only'),
        [`old: ${f.doc || '(none)'}`, `new: ${g.doc || '(none)'}`],
      );
  }
  const grewWithArgsz = appended.length > 0 && hasArgsz(x) && hasArgsz(y) && !layoutBroken;
  if (appended.length) {
    const names = appended.map((f) => f.name).join(', ');
    if (grewWithArgsz) {
      const optional = y.minsz <= x.minsz;
      add(
        ctx,
        'struct.field-added-within-argsz',
        name,
        `struct ${name} grew ${x.size} → ${y.size} bytes with ${names}; argsz tells the versions apart (minsz ${x.minsz} → ${y.minsz})`,
        sites,
        optional
          ? ok('old callers pass the old argsz, which is still accepted; new fields are optional')
          : breaks(`the kernel now refuses argsz < ${y.minsz}, which old callers pass`),
        optional
          ? ok('drivers read the new fields only when argsz covers them')
          : review('drivers may rely on the new fields being present'),
      );
    } else
      add(
        ctx,
        'struct.field-added',
        `${name}.${names}`,
        `struct ${name}: field(s) ${names} appended (no argsz to tell the versions apart)`,
        sites,
        breaks('the struct size is part of the ioctl ABI'),
        breaks('the struct size is part of the ioctl ABI'),
      );
  }
  if ((x.size !== y.size && !grewWithArgsz) || x.align !== y.align)
    add(
      ctx,
      'struct.size-changed',
      name,
      `struct ${name}: size ${x.size} → ${y.size} bytes, alignment ${x.align} → ${y.align}`,
      sites,
      breaks('ABI break: binaries built against the old size pass a buffer of the wrong size'),
      breaks('ABI break: copies to and from userspace change length'),
    );
  else if (!eq(x.i386, y.i386) && x.size === y.size)
    add(
      ctx,
      'struct.i386-layout-changed',
      name,
      `struct ${name}: 32-bit x86 layout changed (size ${x.i386.size} → ${y.i386.size})`,
      sites,
      breaks('ABI break for 32-bit userspace'),
      breaks('compat ioctl handling changes'),
    );
  if (x.minsz !== y.minsz && !grewWithArgsz)
    add(
      ctx,
      y.minsz > x.minsz ? 'struct.minsz-raised' : 'struct.minsz-lowered',
      name,
      `struct ${name}: smallest accepted argsz ${x.minsz} → ${y.minsz}`,
      sites,
      y.minsz > x.minsz ? breaks(`callers passing argsz < ${y.minsz} are now refused`) : ok('more sizes accepted'),
      y.minsz > x.minsz
        ? ok('drivers may read more of the argument')
        : review(`drivers must not read beyond ${y.minsz} bytes unless argsz covers it`),
    );
  common(ctx, 'struct', name, x, y);
}

// ---------------------------------------------------------------- helpers for keyed collections

function keyed<T>(
  ctx: Ctx,
  kind: string,
  xs: Record<string, T>,
  ys: Record<string, T>,
  site: (t: T) => IrSite | undefined,
  onRemoved: (name: string, t: T) => void,
  onAdded: (name: string, t: T) => void,
  onBoth: (name: string, x: T, y: T) => void,
) {
  void ctx;
  void kind;
  void site;
  for (const n of sorted(xs)) if (!(n in ys)) onRemoved(n, xs[n]!);
  for (const n of sorted(ys)) if (!(n in xs)) onAdded(n, ys[n]!);
  for (const n of sorted(xs)) if (n in ys) onBoth(n, xs[n]!, ys[n]!);
}

// ---------------------------------------------------------------- the diff

export function diffIr(a: Ir, b: Ir): Change[] {
  const featureOps = (ir: Ir) => Object.entries(ir.features).flatMap(([n, f]) => f.ops.map((o) => `${n}:${o}`));
  const opsA = new Set([...Object.keys(a.ioctls), ...featureOps(a)]);
  const opsB = new Set([...Object.keys(b.ioctls), ...featureOps(b)]);
  const capsOf = (ir: Ir) => new Set(Object.keys(ir.flags[ir.fsm.capabilityFlags]?.members ?? {}));
  const capsA = capsOf(a);
  const capsB = capsOf(b);
  const ctx: Ctx = {
    a,
    b,
    out: [],
    newStates: new Set(b.fsm.states.filter((s) => !a.fsm.states.includes(s))),
    goneStates: new Set(a.fsm.states.filter((s) => !b.fsm.states.includes(s))),
    newCaps: new Set([...capsB].filter((c) => !capsA.has(c))),
    goneCaps: new Set([...capsA].filter((c) => !capsB.has(c))),
    newOps: new Set([...opsB].filter((o) => !opsA.has(o))),
    goneOps: new Set([...opsA].filter((o) => !opsB.has(o))),
  };

  // Structs.
  keyed(
    ctx,
    'struct',
    a.structs,
    b.structs,
    (s) => s.site,
    (n, s) =>
      add(
        ctx,
        'struct.removed',
        n,
        `struct ${n} removed`,
        { old: s.site },
        breaks('source that names it no longer compiles'),
        review('drivers using it must change'),
      ),
    (n, s) =>
      add(
        ctx,
        'struct.added',
        n,
        `struct ${n} added (${s.size} bytes)`,
        { new: s.site },
        ok('new; nobody uses it yet'),
        ok('new; nobody uses it yet'),
      ),
    (n, x, y) => diffStruct(ctx, n, x, y),
  );

  // ioctls.
  keyed(
    ctx,
    'ioctl',
    a.ioctls,
    b.ioctls,
    (i) => i.site,
    (n, i) =>
      add(
        ctx,
        'ioctl.removed',
        n,
        `ioctl ${n} (0x${i.number.toString(16)} on ${i.fd} fds) removed`,
        { old: i.site },
        breaks('programs that issue it now get ENOTTY'),
        ok('drivers need no longer implement it'),
      ),
    (n, i) =>
      add(
        ctx,
        'ioctl.added',
        n,
        `ioctl ${n} added (0x${i.number.toString(16)} on ${i.fd} fds)`,
        { new: i.site },
        ok('new; programs opt in by calling it'),
        ok('new; obligations, if any, come from rules'),
      ),
    (n, x, y) => {
      const sites = { old: x.site, new: y.site };
      if (x.number !== y.number || !eq(x.numberByArch, y.numberByArch))
        add(
          ctx,
          'ioctl.number-changed',
          n,
          `ioctl ${n}: number 0x${x.number.toString(16)} → 0x${y.number.toString(16)} (nr ${x.nr} → ${y.nr})`,
          sites,
          breaks('ABI break: binaries issue the old number'),
          breaks('ABI break: the handler answers a different number'),
        );
      if (x.fd !== y.fd)
        add(
          ctx,
          'ioctl.fd-changed',
          n,
          `ioctl ${n}: issued on ${x.fd} fds → ${y.fd} fds`,
          sites,
          breaks('programs issue it on the wrong fd'),
          breaks('the handler moves to another fd kind'),
        );
      if (!eq(x.arg, y.arg))
        add(
          ctx,
          'ioctl.arg-changed',
          n,
          `ioctl ${n}: argument ${JSON.stringify(x.arg)} → ${JSON.stringify(y.arg)}`,
          sites,
          breaks('the argument is passed differently'),
          breaks('the argument is read differently'),
        );
      if ((x.minsz ?? null) !== (y.minsz ?? null))
        add(
          ctx,
          'ioctl.minsz-changed',
          n,
          `ioctl ${n}: minimum argsz ${x.minsz ?? 'struct'} → ${y.minsz ?? 'struct'}`,
          sites,
          (y.minsz ?? 0) > (x.minsz ?? 0) ? breaks('smaller arguments now refused') : ok('more sizes accepted'),
          review('check argsz handling'),
        );
      if ((x.returnsFd ?? null) !== (y.returnsFd ?? null))
        add(
          ctx,
          'ioctl.returns-fd-changed',
          n,
          `ioctl ${n}: returns ${x.returnsFd ?? 'no fd'} → ${y.returnsFd ?? 'no fd'}`,
          sites,
          breaks('the return value means something else'),
          breaks('the return value means something else'),
        );
      common(ctx, 'ioctl', n, x, y);
    },
  );

  // Features.
  keyed(
    ctx,
    'feature',
    a.features,
    b.features,
    (f) => f.site,
    (n, f) =>
      add(
        ctx,
        'feature.removed',
        n,
        `feature ${n} (index ${f.index}, ${f.ops.join('/')}) removed`,
        { old: f.site },
        breaks('programs that use it now get ENOTTY'),
        ok('drivers need no longer implement it'),
      ),
    (n, f) =>
      add(
        ctx,
        'feature.added',
        n,
        `feature ${n} added (index ${f.index}, ${f.ops.join('/')}${f.payload ? `, payload ${f.payload}` : ''})`,
        { new: f.site },
        ok('new; programs detect it with PROBE'),
        f.handler === 'driver'
          ? ok('new; drivers opt in by implementing it')
          : ok('new; answered by the core or per the rules'),
      ),
    (n, x, y) => {
      const sites = { old: x.site, new: y.site };
      if (x.index !== y.index)
        add(
          ctx,
          'feature.index-changed',
          n,
          `feature ${n}: index ${x.index} → ${y.index}`,
          sites,
          breaks('ABI break: programs send the old index'),
          breaks('ABI break'),
        );
      const lost = x.ops.filter((o) => !y.ops.includes(o));
      const gained = y.ops.filter((o) => !x.ops.includes(o));
      if (lost.length)
        add(
          ctx,
          'feature.op-removed',
          n,
          `feature ${n}: ${lost.join('/')} no longer supported`,
          sites,
          breaks(`programs that ${lost.join('/')} it now get EINVAL`),
          ok('less to implement'),
        );
      if (gained.length)
        add(
          ctx,
          'feature.op-added',
          n,
          `feature ${n}: now also supports ${gained.join('/')}`,
          sites,
          ok('new access; programs opt in'),
          x.handler === 'driver' ? review(`drivers must answer ${gained.join('/')}`) : ok('answered by the core'),
        );
      if (x.payload !== y.payload)
        add(
          ctx,
          'feature.payload-changed',
          n,
          `feature ${n}: payload ${x.payload ?? 'none'} → ${y.payload ?? 'none'}`,
          sites,
          breaks('the payload is encoded differently'),
          breaks('the payload is decoded differently'),
        );
      if (x.minsz !== y.minsz)
        add(
          ctx,
          'feature.minsz-changed',
          n,
          `feature ${n}: payload minimum ${x.minsz} → ${y.minsz} bytes`,
          sites,
          y.minsz > x.minsz ? breaks('smaller payloads now refused with EINVAL') : ok('more sizes accepted'),
          y.minsz > x.minsz ? ok('nothing to change') : review('drivers must not read past the new minimum'),
        );
      if (x.handler !== y.handler)
        add(
          ctx,
          'feature.handler-changed',
          n,
          `feature ${n}: answered by the ${x.handler} → the ${y.handler}`,
          sites,
          ok('same interface'),
          y.handler === 'driver'
            ? breaks('drivers must now implement it themselves')
            : review('the core answers; driver code for it is no longer called'),
        );
      if (x.needs !== y.needs)
        add(
          ctx,
          'feature.needs-changed',
          n,
          `feature ${n}: needs ${x.needs} → ${y.needs}`,
          sites,
          review('devices that answered it may now refuse it, or the reverse'),
          review('which devices must answer it changed'),
        );
      if (x.missing !== y.missing)
        add(
          ctx,
          'rule.errno-changed',
          n,
          `feature ${n}: errno when unsupported ${x.missing} → ${y.missing}`,
          sites,
          review(`programs that test for ${x.missing} must test for ${y.missing}`),
          review(`drivers returning ${x.missing} themselves must return ${y.missing}`),
        );
      common(ctx, 'feature', n, x, y);
    },
  );

  diffSetsOfValues(ctx);
  diffFsm(ctx);
  diffRules(ctx);

  // fd kinds.
  keyed(
    ctx,
    'fd',
    a.fdKinds,
    b.fdKinds,
    (f) => f.site,
    (n, f) =>
      add(
        ctx,
        'fd-kind.removed',
        n,
        `fd kind ${n} removed`,
        { old: f.site },
        breaks('programs can no longer obtain it'),
        review('drivers serving it must change'),
      ),
    (n, f) =>
      add(ctx, 'fd-kind.added', n, `fd kind ${n} added (${f.obtainedBy})`, { new: f.site }, ok('new'), ok('new')),
    (n, x, y) => {
      if ((x.extends ?? null) !== (y.extends ?? null) || x.obtainedBy !== y.obtainedBy)
        add(
          ctx,
          'fd-kind.changed',
          n,
          `fd kind ${n}: obtained by "${x.obtainedBy}"${x.extends ? ` extends ${x.extends}` : ''} → "${y.obtainedBy}"${y.extends ? ` extends ${y.extends}` : ''}`,
          { old: x.site, new: y.site },
          review('how programs get the fd, or what it accepts, changed'),
          review('check the fd handling'),
        );
      common(ctx, 'fd kind', n, x, y);
    },
  );

  return ctx.out;
}

// ---------------------------------------------------------------- constants, enums, flags

function diffSetsOfValues(ctx: Ctx) {
  const { a, b } = ctx;
  // Standalone constants (enum members, flag bits and feature indexes are reported with their set).
  const standalone = (ir: Ir) =>
    Object.fromEntries(
      Object.entries(ir.constants)
        .filter(([n]) => ir.constantInfo[n]?.from === n)
        .map(([n, v]) => [n, v]),
    );
  const ca = standalone(a);
  const cb = standalone(b);
  for (const n of sorted(ca))
    if (!(n in cb))
      add(
        ctx,
        'constant.removed',
        n,
        `constant ${n} (${ca[n]}) removed`,
        {},
        breaks('source that names it no longer compiles'),
        ok('nothing to change'),
      );
  for (const n of sorted(cb))
    if (!(n in ca)) add(ctx, 'constant.added', n, `constant ${n} = ${cb[n]} added`, {}, ok('new'), ok('new'));
    else if (ca[n] !== cb[n])
      add(
        ctx,
        'constant.value-changed',
        n,
        `constant ${n}: ${ca[n]} → ${cb[n]}`,
        {},
        breaks('ABI break: binaries carry the old value'),
        breaks('ABI break'),
      );
    else if (
      a.constantInfo[n]!.since !== b.constantInfo[n]!.since ||
      a.constantInfo[n]!.doc !== b.constantInfo[n]!.doc
    ) {
      const x = a.constantInfo[n]!;
      const y = b.constantInfo[n]!;
      common(
        ctx,
        'constant',
        n,
        { since: x.since, doc: x.doc, site: undefined as never },
        { since: y.since, doc: y.doc, site: undefined as never },
      );
    }

  const stateEnum = b.fsm.stateEnum;
  const capFlags = b.fsm.capabilityFlags;
  for (const kind of ['enums', 'flags'] as const) {
    const xs = a[kind] as Record<string, Ir['enums'][string]>;
    const ys = b[kind] as Record<string, Ir['enums'][string]>;
    const word = kind === 'enums' ? 'enumeration' : 'flag set';
    for (const n of sorted(xs))
      if (!(n in ys))
        add(
          ctx,
          `${kind === 'enums' ? 'enum' : 'flags'}.removed`,
          n,
          `${word} ${n} removed (${list(Object.keys(xs[n]!.members))})`,
          { old: xs[n]!.site },
          breaks('source that names its values no longer compiles'),
          review('drivers using it must change'),
        );
    for (const n of sorted(ys))
      if (!(n in xs))
        add(
          ctx,
          `${kind === 'enums' ? 'enum' : 'flags'}.added`,
          n,
          `${word} ${n} added (${list(Object.entries(ys[n]!.members).map(([k, m]) => `${ys[n]!.prefix}${k} = ${m.value}`))})`,
          { new: ys[n]!.site },
          ok('new'),
          ok('new'),
        );
    for (const n of sorted(xs)) {
      if (!(n in ys)) continue;
      const x = xs[n]!;
      const y = ys[n]!;
      const sites = { old: x.site, new: y.site };
      const isStates = kind === 'enums' && n === stateEnum;
      const isCaps = kind === 'flags' && n === capFlags;
      const memberSets: [
        string,
        Record<string, { value: number; since: string; doc: string }>,
        Record<string, { value: number; since: string; doc: string }>,
      ][] = [
        ['member', x.members, y.members],
        ...(kind === 'flags'
          ? [
              ['mask', (x as Ir['flags'][string]).masks, (y as Ir['flags'][string]).masks] as [
                string,
                Record<string, { value: number; since: string; doc: string }>,
                Record<string, { value: number; since: string; doc: string }>,
              ],
            ]
          : []),
      ];
      for (const [what, mx, my] of memberSets) {
        for (const k of sorted(mx)) {
          const item = `${n}.${k}`;
          if (!(k in my)) {
            if (isStates && ctx.a.fsm.states.includes(k)) continue; // reported as state.removed
            if (isCaps) {
              add(
                ctx,
                'capability.removed',
                k,
                `capability ${x.prefix}${k} (${mx[k]!.value}) removed`,
                sites,
                breaks('programs that check for it no longer compile, and devices no longer offer it'),
                breaks('drivers advertising it must stop'),
              );
              continue;
            }
            add(
              ctx,
              kind === 'enums' ? 'enum.member-removed' : 'flags.bit-removed',
              item,
              `${word} ${n}: ${what} ${x.prefix}${k} (${mx[k]!.value}) removed`,
              sites,
              breaks('source that names it no longer compiles; the value loses its meaning'),
              review('drivers using the value must change'),
            );
          } else if (mx[k]!.value !== my[k]!.value)
            add(
              ctx,
              kind === 'enums' ? 'enum.value-changed' : 'flags.value-changed',
              item,
              `${word} ${n}: ${x.prefix}${k} ${mx[k]!.value} → ${my[k]!.value}`,
              sites,
              breaks('ABI break: binaries carry the old value'),
              breaks('ABI break'),
            );
          else {
            if (mx[k]!.since !== my[k]!.since)
              add(
                ctx,
                'item.since-changed',
                item,
                `${x.prefix}${k}: since ${mx[k]!.since} → ${my[k]!.since}`,
                sites,
                review('programs that gate on the release must use the new one'),
                ok('release metadata only'),
              );
            if (mx[k]!.doc !== my[k]!.doc)
              add(
                ctx,
                'item.doc-changed',
                item,
                `${x.prefix}${k}: documentation changed`,
                sites,
                ok('documentation only'),
                ok('documentation only'),
                [`old: ${mx[k]!.doc || '(none)'}`, `new: ${my[k]!.doc || '(none)'}`],
              );
          }
        }
        for (const k of sorted(my)) {
          if (k in mx) continue;
          if (isStates && ctx.b.fsm.states.includes(k)) continue; // reported as state.added
          if (isCaps) {
            add(
              ctx,
              'capability.added',
              k,
              `capability ${y.prefix}${k} = ${my[k]!.value} added (since ${my[k]!.since})`,
              sites,
              ok('devices that lack it behave as before; programs opt in by checking it'),
              ok('drivers opt in by advertising it'),
            );
            continue;
          }
          add(
            ctx,
            kind === 'enums' ? 'enum.member-added' : 'flags.bit-added',
            `${n}.${k}`,
            `${word} ${n}: ${what} ${y.prefix}${k} = ${my[k]!.value} added`,
            sites,
            ok('new value'),
            kind === 'flags' ? ok('new bit; drivers that do not know it leave it clear') : ok('new value'),
          );
        }
      }
      common(ctx, word, n, x, y);
    }
  }
}

// ---------------------------------------------------------------- state machine

function diffFsm(ctx: Ctx) {
  const x = ctx.a.fsm;
  const y = ctx.b.fsm;
  const sites = { old: x.site, new: y.site };
  const ex = ctx.a.enums[x.stateEnum];
  const ey = ctx.b.enums[y.stateEnum];
  const stateSite = (ir: Ir, s: string) => ir.enums[ir.fsm.stateEnum]?.site ?? ir.fsm.site;
  void ex;
  void ey;
  const opensNew = (caps: string[] | null) => !!caps && caps.some((c) => ctx.newCaps.has(c));

  for (const s of x.states)
    if (!y.states.includes(s))
      add(
        ctx,
        'state.removed',
        s,
        `state ${s} removed`,
        { old: stateSite(ctx.a, s), new: y.site },
        breaks(`programs that request or observe ${s} break`),
        breaks(`drivers implementing ${s} must drop it; its arcs go`),
      );
  for (const s of y.states)
    if (!x.states.includes(s)) {
      const req = y.requires[s] ?? null;
      const optIn = opensNew(req);
      add(
        ctx,
        'state.added',
        s,
        `state ${s} = ${ctx.b.states[s]} added${req ? ` (needs ${req.join('+')})` : ''}`,
        { old: x.site, new: stateSite(ctx.b, s) },
        optIn
          ? ok(`only devices with ${req!.filter((c) => ctx.newCaps.has(c)).join('+')} have it; others behave as before`)
          : review(`existing devices may now report ${s}`),
        optIn
          ? ok(`only drivers that advertise ${req!.filter((c) => ctx.newCaps.has(c)).join('+')} implement it`)
          : breaks(`every driver must implement ${s}`),
      );
    }
  for (const s of x.states) {
    if (!y.states.includes(s)) continue;
    if (!eq(x.requires[s], y.requires[s]))
      add(
        ctx,
        'state.requires-changed',
        s,
        `state ${s}: needs ${x.requires[s]?.join('+') ?? 'never requestable'} → ${y.requires[s]?.join('+') ?? 'never requestable'}`,
        sites,
        review(`which devices offer ${s} changed`),
        review(`which drivers implement ${s} changed`),
      );
  }

  for (const cs of x.capabilitySets)
    if (!y.capabilitySets.includes(cs))
      add(
        ctx,
        'fsm.capability-set-removed',
        cs,
        `capability set ${cs} no longer defined`,
        sites,
        breaks(`devices reporting ${cs} are undefined`),
        breaks(`drivers reporting ${cs} must change`),
      );
  for (const cs of y.capabilitySets)
    if (!x.capabilitySets.includes(cs)) {
      const optIn = cs.split('+').some((c) => ctx.newCaps.has(c));
      add(
        ctx,
        'fsm.capability-set-added',
        cs,
        `capability set ${cs} now defined`,
        sites,
        ok('programs meet it only on devices that opt in'),
        optIn ? ok('drivers opt in') : review('drivers may now report it'),
      );
    }
  if (!eq([...x.mandatory].sort(), [...y.mandatory].sort()))
    add(
      ctx,
      'fsm.mandatory-changed',
      'mandatory',
      `capabilities every migratable device has: ${x.mandatory.join('+')} → ${y.mandatory.join('+')}`,
      sites,
      breaks('programs rely on the mandatory capabilities'),
      breaks('drivers must offer the mandatory capabilities'),
    );
  if (x.initial !== y.initial)
    add(
      ctx,
      'fsm.initial-changed',
      'initial',
      `initial state ${x.initial} → ${y.initial}`,
      sites,
      breaks('programs assume the state after open'),
      breaks('drivers set the state on open'),
    );
  if (x.error !== y.error)
    add(
      ctx,
      'fsm.error-changed',
      'error',
      `error state ${x.error} → ${y.error}`,
      sites,
      breaks('error handling changes'),
      breaks('error handling changes'),
    );
  const epx = new Set(x.endpointOnly);
  const epy = new Set(y.endpointOnly);
  for (const s of epx)
    if (!epy.has(s) && y.states.includes(s))
      add(
        ctx,
        'fsm.endpoint-only-removed',
        s,
        `${s} may now be passed through on the way to another state`,
        sites,
        review(`requests may now pass through ${s}`),
        review(`arcs into and out of ${s} run back to back`),
      );
  for (const s of epy)
    if (!epx.has(s) && x.states.includes(s))
      add(
        ctx,
        'fsm.endpoint-only-added',
        s,
        `${s} may now only end a request`,
        sites,
        review(`paths through ${s} change`),
        ok('the core no longer routes through it'),
      );

  // Arcs.
  const key = (a: { from: string; to: string; when: string[]; unless: string[] }) =>
    `${a.from}->${a.to}${a.when.length ? ` when ${a.when.join('+')}` : ''}${a.unless.length ? ` unless ${a.unless.join('+')}` : ''}`;
  const ax = new Map(x.arcs.map((a) => [key(a), a]));
  const ay = new Map(y.arcs.map((a) => [key(a), a]));
  const byPair = (arcs: typeof x.arcs, a: (typeof x.arcs)[number]) =>
    arcs.filter((b) => b.from === a.from && b.to === a.to);
  for (const [k, a] of ax) {
    if (ay.has(k)) continue;
    const twin = byPair(y.arcs, a).filter((b) => !ax.has(key(b)));
    if (twin.length === 1) {
      const b = twin[0]!;
      add(
        ctx,
        'fsm.arc-condition-changed',
        `${a.from}->${a.to}`,
        `arc ${a.from}->${a.to}: exists ${k} → ${key(b)}`,
        { old: a.site, new: b.site },
        review('on which devices the arc exists changed; paths may differ'),
        breaks('drivers must implement the arc for the new capability sets'),
      );
      ay.delete(key(b));
      continue;
    }
    const goneWith = ctx.goneStates.has(a.from) || ctx.goneStates.has(a.to) || a.when.some((c) => ctx.goneCaps.has(c));
    add(
      ctx,
      'fsm.arc-removed',
      `${a.from}->${a.to}`,
      `arc ${k} removed`,
      { old: a.site, new: y.site },
      goneWith
        ? breaks('goes with the removed state or capability')
        : review('requests that used it take another path, or are refused'),
      goneWith ? breaks('goes with the removed state or capability') : ok('drivers need no longer implement it'),
    );
  }
  for (const [k, b] of ay) {
    if (ax.has(k)) continue;
    if (
      byPair(x.arcs, b).some((a) => !ay.has(key(a)) && byPair(y.arcs, a).filter((bb) => !ax.has(key(bb))).length === 1)
    )
      continue;
    const optIn = b.when.some((c) => ctx.newCaps.has(c)) || ctx.newStates.has(b.from) || ctx.newStates.has(b.to);
    add(
      ctx,
      'fsm.arc-added',
      `${b.from}->${b.to}`,
      `arc ${k} added${b.fd !== 'none' ? ` (${b.fd} the data fd)` : ''}`,
      { old: x.site, new: b.site },
      optIn
        ? ok('only on devices with the new capability or state')
        : review('existing requests may take a different path'),
      optIn
        ? ok('only drivers that advertise the new capability implement it')
        : breaks('every driver with these capabilities must implement the arc'),
    );
  }
  for (const [k, a] of ax) {
    const b = ay.get(k);
    if (!b) continue;
    if (a.fd !== b.fd)
      add(
        ctx,
        'fsm.arc-fd-changed',
        `${a.from}->${a.to}`,
        `arc ${k}: data fd effect ${a.fd} → ${b.fd}`,
        { old: a.site, new: b.site },
        breaks('the data fd opens or closes at a different point'),
        breaks('drivers must create or end the session at a different point'),
      );
    if ((a.since ?? '') !== (b.since ?? ''))
      add(
        ctx,
        'item.since-changed',
        `${a.from}->${a.to}`,
        `arc ${k}: since ${a.since ?? x.since} → ${b.since ?? y.since}`,
        { old: a.site, new: b.site },
        review('programs that gate on the release must use the new one'),
        ok('release metadata only'),
      );
    if (a.doc !== b.doc)
      add(
        ctx,
        'item.doc-changed',
        `${a.from}->${a.to}`,
        `arc ${k}: documentation changed`,
        { old: a.site, new: b.site },
        ok('documentation only'),
        ok('documentation only'),
        [`old: ${a.doc || '(none)'}`, `new: ${b.doc || '(none)'}`],
      );
  }

  // Forbidden requests.
  const fk = (f: { from: string; to: string }) => `${f.from}->${f.to}`;
  const fx = new Map(x.forbidden.map((f) => [fk(f), f]));
  const fy = new Map(y.forbidden.map((f) => [fk(f), f]));
  for (const [k, f] of fx)
    if (!fy.has(k) && !ctx.goneStates.has(f.from) && !ctx.goneStates.has(f.to))
      add(
        ctx,
        'fsm.forbidden-removed',
        k,
        `request ${k} is no longer forbidden`,
        { old: f.site, new: y.site },
        ok('a request that failed may now succeed'),
        review('drivers must carry out the request'),
      );
  for (const [k, f] of fy) {
    const g = fx.get(k);
    if (!g) {
      const optIn = ctx.newStates.has(f.from) || ctx.newStates.has(f.to);
      add(
        ctx,
        'fsm.forbidden-added',
        k,
        `request ${k} is now forbidden (${f.errno})`,
        { old: x.site, new: f.site },
        optIn ? ok('concerns a new state') : breaks(`programs that requested ${k} now get ${f.errno}`),
        ok('the core refuses it before the driver'),
      );
    } else if (g.errno !== f.errno)
      add(
        ctx,
        'rule.errno-changed',
        k,
        `forbidden request ${k}: errno ${g.errno} → ${f.errno}`,
        { old: g.site, new: f.site },
        review(`programs that test for ${g.errno} must test for ${f.errno}`),
        ok('the core answers'),
      );
  }

  // Derived paths, per capability set both sides define.
  for (const cs of y.capabilitySets) {
    if (!x.capabilitySets.includes(cs)) continue;
    const px = x.paths[cs] ?? {};
    const py = y.paths[cs] ?? {};
    const changed: string[] = [];
    let refused = 0;
    for (const from of Object.keys(py))
      for (const to of Object.keys(py[from] ?? {})) {
        if (!(from in px) || !(to in (px[from] ?? {}))) continue;
        const p = px[from]![to];
        const q = py[from]![to];
        if (eq(p, q)) continue;
        if (q === null) refused++;
        const show = (r: string[] | null | undefined) =>
          r === null || r === undefined ? 'refused' : r.length ? r.join(' → ') : '(no-op)';
        changed.push(`${from} → ${to}: ${show(p)}  ⇒  ${show(q)}`);
      }
    if (changed.length)
      add(
        ctx,
        'fsm.path-changed',
        cs,
        `${changed.length} request path(s) change for devices with ${cs}${refused ? `; ${refused} now refused` : ''}`,
        sites,
        refused
          ? breaks('requests that succeeded are now refused')
          : review('intermediate states differ (visible after a failed SET)'),
        review('drivers run a different sequence of arcs'),
        changed,
      );
  }
  common(ctx, 'state machine', y.name, x, y);
}

// ---------------------------------------------------------------- rules

function opOf(r: IrRule) {
  return r.op ?? r.requiresOp;
}

function diffRules(ctx: Ctx) {
  const { a, b } = ctx;
  const allStates = b.fsm.states;
  const refsNew = (r: IrRule) =>
    (r.op && ctx.newOps.has(r.op)) ||
    (r.requiresOp && ctx.newOps.has(r.requiresOp)) ||
    (r.ifCaps ?? []).some((c) => ctx.newCaps.has(c)) ||
    (r.requiresCaps ?? []).some((c) => ctx.newCaps.has(c)) ||
    (Array.isArray(r.validIn) && r.validIn.every((s) => ctx.newStates.has(s))) ||
    (r.perState && Object.keys(r.perState).every((s) => ctx.newStates.has(s)));
  const refsGone = (r: IrRule) =>
    (r.op && ctx.goneOps.has(r.op)) ||
    (r.requiresOp && ctx.goneOps.has(r.requiresOp)) ||
    (r.ifCaps ?? []).some((c) => ctx.goneCaps.has(c)) ||
    (Array.isArray(r.validIn) && r.validIn.every((s) => ctx.goneStates.has(s)));

  for (const id of sorted(a.rules)) {
    if (id in b.rules) continue;
    const r = a.rules[id]!;
    add(
      ctx,
      'rule.removed',
      id,
      `rule ${id} (${r.kind}, ${r.strength}) removed`,
      { old: r.site },
      refsGone(r) ? ok('goes with what it talked about') : review('programs may no longer rely on it'),
      ok('drivers are no longer held to it'),
    );
  }
  for (const id of sorted(b.rules)) {
    if (id in a.rules) continue;
    const r = b.rules[id]!;
    let drivers: Impact;
    if (refsNew(r)) drivers = ok('applies only to what is new');
    else if (r.strength === 'should') drivers = review('a new recommendation');
    else if (r.kind === 'capability')
      drivers = breaks(
        `drivers with ${r.ifCaps?.join('+')} must now also support ${r.requiresOp ?? r.requiresCaps?.join('+')}`,
      );
    else drivers = review('a new obligation for existing drivers');
    add(
      ctx,
      'rule.added',
      id,
      `rule ${id} (${r.kind}, ${r.strength}) added${opOf(r) ? ` for ${opOf(r)}` : ''}`,
      { new: r.site },
      refsNew(r) ? ok('applies only to what is new') : ok('a new guarantee programs may rely on'),
      drivers,
    );
  }
  for (const id of sorted(a.rules)) {
    const x = a.rules[id]!;
    const y = b.rules[id];
    if (!y) continue;
    const sites = { old: x.site, new: y.site };
    if (x.kind !== y.kind) {
      add(
        ctx,
        'rule.kind-changed',
        id,
        `rule ${id}: ${x.kind} → ${y.kind}`,
        sites,
        review('the rule means something else'),
        review('the rule means something else'),
      );
      common(ctx, 'rule', id, x, y, y.kind === 'behaviour');
      continue;
    }
    const op = opOf(y) ?? id;
    if (x.strength !== y.strength) {
      if (y.strength === 'must')
        add(
          ctx,
          'rule.made-mandatory',
          id,
          `rule ${id}: should → must${y.kind === 'capability' ? ` (devices with ${y.ifCaps?.join('+')} must support ${y.requiresOp ?? y.requiresCaps?.join('+')})` : ''}`,
          sites,
          ok('programs may now rely on it'),
          breaks(
            y.kind === 'capability'
              ? `drivers that advertise ${y.ifCaps?.join('+')} without ${y.requiresOp ?? y.requiresCaps?.join('+')} become non-conforming`
              : 'drivers that did not follow it become non-conforming',
          ),
        );
      else
        add(
          ctx,
          'rule.made-optional',
          id,
          `rule ${id}: must → should`,
          sites,
          breaks(
            y.kind === 'capability'
              ? `programs must cope with devices that have ${y.ifCaps?.join('+')} but not ${y.requiresOp ?? y.requiresCaps?.join('+')}`
              : 'programs can no longer rely on it',
          ),
          ok('drivers may leave it out'),
        );
    }
    if ((x.op ?? '') !== (y.op ?? '') || (x.on ?? '') !== (y.on ?? ''))
      add(
        ctx,
        'rule.op-changed',
        id,
        `rule ${id}: now about ${y.op ?? '-'} on ${y.on ?? '-'} (was ${x.op ?? '-'} on ${x.on ?? '-'})`,
        sites,
        review('the rule covers another operation'),
        review('the rule covers another operation'),
      );
    if (x.kind === 'state-validity') {
      const set = (v: IrRule['validIn'], states: string[]) => new Set(v === 'any' ? states : (v ?? []));
      const sx = set(x.validIn, a.fsm.states);
      const sy = set(y.validIn, allStates);
      const narrowed = [...sx].filter((s) => !sy.has(s) && !ctx.goneStates.has(s));
      const widened = [...sy].filter((s) => !sx.has(s) && !ctx.newStates.has(s));
      const toNew = [...sy].filter((s) => !sx.has(s) && ctx.newStates.has(s));
      if (narrowed.length)
        add(
          ctx,
          'rule.valid-states-narrowed',
          id,
          `${op} is valid in fewer states: no longer in ${narrowed.join(', ')} (now ${y.otherwise})`,
          sites,
          breaks(`breaking for userspace that called ${op} in ${narrowed.join(' or ')}: it now gets ${y.otherwise}`),
          breaks(
            `breaking for drivers that answered ${op} in ${narrowed.join(' or ')}: they must now fail with ${y.otherwise}`,
          ),
          [`valid in: ${[...sx].join(', ')}  ⇒  ${[...sy].join(', ')}`],
        );
      if (widened.length)
        add(
          ctx,
          'rule.valid-states-widened',
          id,
          `${op} is valid in more states: now also ${widened.join(', ')}`,
          sites,
          ok(`programs may now call it in ${widened.join(', ')}`),
          breaks(`breaking for drivers that refused ${op} in ${widened.join(' or ')}: they must now answer there`),
          [`valid in: ${[...sx].join(', ')}  ⇒  ${[...sy].join(', ')}`],
        );
      if (toNew.length)
        add(
          ctx,
          'rule.valid-states-extended',
          id,
          `${op} is valid in the new state(s) ${toNew.join(', ')}`,
          sites,
          ok('concerns only new states'),
          ok('concerns only drivers that implement the new states'),
        );
      if (x.otherwise !== y.otherwise)
        add(
          ctx,
          'rule.errno-changed',
          id,
          `${op} outside its valid states: ${x.otherwise} → ${y.otherwise}`,
          sites,
          review(`programs that test for ${x.otherwise} must test for ${y.otherwise}`),
          review(`drivers must return ${y.otherwise}`),
        );
    }
    if (x.kind === 'errno') {
      if (x.errno !== y.errno)
        add(
          ctx,
          'rule.errno-changed',
          id,
          `${op} when ${y.condition}: ${x.errno} → ${y.errno}`,
          sites,
          review(`programs that test for ${x.errno} must test for ${y.errno}`),
          review(`drivers must return ${y.errno}`),
        );
      if (x.condition !== y.condition)
        add(
          ctx,
          'rule.condition-changed',
          id,
          `${op}: ${x.errno} condition "${x.condition}" → "${y.condition}"`,
          sites,
          review('the error happens in different cases'),
          review('check when drivers return it'),
        );
      if ((x.order ?? null) !== (y.order ?? null))
        add(
          ctx,
          'rule.order-changed',
          id,
          `${op}: check order ${x.order ?? '-'} → ${y.order ?? '-'}`,
          sites,
          review('with several faults, a different errno wins'),
          review('check order changed'),
        );
    }
    if (x.kind === 'stream') {
      const px = x.perState ?? {};
      const py = y.perState ?? {};
      for (const s of [...new Set([...Object.keys(px), ...Object.keys(py)])]) {
        const p = px[s];
        const q = py[s];
        if (eq(p, q)) continue;
        if (!p) {
          const isNew = ctx.newStates.has(s);
          add(
            ctx,
            'rule.stream-state-added',
            `${id}:${s}`,
            `${y.io}() in ${s} now specified: ${JSON.stringify(q)}`,
            sites,
            isNew ? ok('concerns a new state') : ok('a new guarantee'),
            isNew ? ok('concerns a new state') : review('drivers must behave as stated'),
          );
        } else if (!q)
          add(
            ctx,
            'rule.stream-state-removed',
            `${id}:${s}`,
            `${x.io}() in ${s} no longer specified`,
            sites,
            review('programs may no longer rely on it'),
            ok('less to follow'),
          );
        else if (p.end !== q.end || !eq(p.never ?? [], q.never ?? []) || p.allowed !== q.allowed)
          add(
            ctx,
            'rule.stream-changed',
            `${id}:${s}`,
            `${y.io}() in ${s}: ${JSON.stringify(p)} → ${JSON.stringify(q)}`,
            sites,
            breaks('end-of-data handling changes'),
            breaks('drivers must signal end of data differently'),
          );
        else
          add(
            ctx,
            'rule.errno-changed',
            `${id}:${s}`,
            `${y.io}() in ${s}: ${JSON.stringify(p)} → ${JSON.stringify(q)}`,
            sites,
            review('errno changed'),
            review('errno changed'),
          );
      }
    }
    if (
      x.kind === 'capability' &&
      (!eq(x.ifCaps, y.ifCaps) ||
        (x.requiresOp ?? '') !== (y.requiresOp ?? '') ||
        !eq(x.requiresCaps ?? [], y.requiresCaps ?? []))
    )
      add(
        ctx,
        'rule.capability-changed',
        id,
        `rule ${id}: with ${x.ifCaps?.join('+')} requires ${x.requiresOp ?? x.requiresCaps?.join('+')} → with ${y.ifCaps?.join('+')} requires ${y.requiresOp ?? y.requiresCaps?.join('+')}`,
        sites,
        review('what programs may rely on changed'),
        breaks('drivers must support what the rule now requires'),
      );
    common(ctx, 'rule', id, x, y, y.kind === 'behaviour');
  }
}

export type { Change };
