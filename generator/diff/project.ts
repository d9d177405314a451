/**
 * Turn an overlay module's exports into plain spec exports: drop `removed()` markers and `revision()`
 * descriptors, and when the revision says `asOf`, give the uAPI as that release had it: later items,
 * members, fields, arcs and rules left out, and fields renamed or retyped later (`was`) in their old form.
 */
import type {
  Arc,
  ArrayType,
  Enumeration,
  Feature,
  FieldRevision,
  FieldType,
  FlagSet,
  FlexType,
  Forbidden,
  Ioctl,
  Member,
  Revision,
  Rule,
  ScalarType,
  StateMachine,
  StructType,
  UnionType,
} from '../../spec/dsl/index.js';
import { compareReleases } from '../../spec/dsl/release.js';

export interface Normalised {
  exports: Record<string, unknown>;
  /** The module's revision() descriptor, if it has one. */
  revision?: Revision;
  /** Export names a removed() marker shadowed. */
  removed: string[];
}

const isObj = (v: unknown): v is { kind?: unknown } => !!v && typeof v === 'object';

/** Drop markers and apply `asOf`. */
export function normaliseOverlay(exports: Record<string, unknown>): Normalised {
  let rev: Revision | undefined;
  const removed: string[] = [];
  const plain: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(exports)) {
    if (isObj(v) && v.kind === 'revision' && !('site' in v)) rev = v as Revision;
    else if (isObj(v) && v.kind === 'removed' && !('site' in v)) removed.push(name);
    else plain[name] = v;
  }
  const out = rev?.asOf ? projectAsOf(plain, rev.asOf) : plain;
  return { exports: out, ...(rev ? { revision: rev } : {}), removed };
}

const later = (since: string | undefined, release: string) =>
  since !== undefined && compareReleases(since, release) > 0;

type Leaf = ScalarType | ArrayType | FlexType;

/**
 * A field as `release` declared it: the name and type of the earliest `was` revision that ends after
 * `release` (history is newest first; each revision is the form before its `until`), with the revisions
 * that end later dropped and the earlier ones kept. An earlier type replaces the C declaration; it also
 * replaces the field's role and direction when it states a role (`u32.reserved()` for `resv`), while a bare
 * type (`u64` before `__aligned_u64`) changes only the declaration, so the field keeps its meaning.
 */
export function fieldAsOf(name: string, f: Leaf, release: string): { name: string; type: Leaf } {
  const history = f.history ?? [];
  const ended = history.filter((r) => compareReleases(r.until, release) > 0);
  if (!ended.length) return { name, type: f };
  let oldName: string | undefined;
  let oldType: ScalarType | undefined;
  for (const r of [...ended].reverse()) {
    oldName ??= r.name;
    oldType ??= r.type;
  }
  const kept: FieldRevision[] = history.filter((r) => !ended.includes(r));
  const { history: _h, ...rest } = f;
  let type: Leaf = rest as Leaf;
  if (oldType) {
    const statesRole = oldType.role.kind !== 'plain';
    type = {
      ...oldType,
      role: statesRole || f.kind !== 'scalar' ? oldType.role : f.role,
      direction: statesRole || f.kind !== 'scalar' ? oldType.direction : f.direction,
      ...(f.since ? { since: f.since } : {}),
    } as ScalarType;
  }
  if (kept.length) type = { ...type, history: kept } as Leaf;
  return { name: oldName ?? name, type };
}

/** Keep only what existed in `release`. Items are copied, never mutated (spec values are frozen). */
export function projectAsOf(exports: Record<string, unknown>, release: string): Record<string, unknown> {
  const items = Object.entries(exports).filter(([, v]) => isObj(v) && typeof v.kind === 'string' && 'site' in v) as [
    string,
    { kind: string; name: string; since: string },
  ][];
  const keep = new Map(items.filter(([, v]) => !later(v.since, release)));

  const members = (ms: Readonly<Record<string, Member>>) =>
    Object.fromEntries(Object.entries(ms).filter(([, m]) => !later(m.since, release)));
  // Enumerations and flag sets that exist, with their surviving members.
  const sets = new Map<string, Record<string, Member>>();
  for (const [, v] of keep)
    if (v.kind === 'enum' || v.kind === 'flags') sets.set(v.name, members((v as Enumeration).members));

  const structMemo = new Map<object, FieldType>();
  const projectType = (t: FieldType): FieldType => {
    if (t.kind === 'scalar') {
      const r = t.role;
      if ((r.kind === 'flags' && !sets.has(r.flags.name)) || (r.kind === 'enum' && !sets.has(r.enumeration.name)))
        return { ...t, role: { kind: 'plain' } } as FieldType;
      return t;
    }
    if (t.kind === 'array' || t.kind === 'flex') {
      const e = projectType(t.element);
      return e === t.element ? t : ({ ...t, element: e } as FieldType);
    }
    return projectStruct(t);
  };
  function projectStruct<S extends StructType | UnionType>(s: S): S {
    const memo = structMemo.get(s);
    if (memo) return memo as S;
    let changed = false;
    const fields: Record<string, FieldType> = {};
    /** Current name → the name `release` used, for fields renamed since. */
    const renamed = new Map<string, string>();
    for (const [n, f] of Object.entries(s.fields)) {
      let name = n;
      let t: FieldType = f;
      if (f.kind === 'scalar' || f.kind === 'array' || f.kind === 'flex') {
        if (later(f.since, release)) {
          changed = true;
          continue;
        }
        const at = fieldAsOf(n, f, release);
        if (at.name !== n) renamed.set(n, at.name);
        name = at.name;
        t = at.type;
      }
      const p = projectType(t);
      if (p !== f || name !== n) changed = true;
      fields[name] = p;
    }
    // Names of siblings that were renamed: a flexible array's counter.
    for (const [n, f] of Object.entries(fields))
      if (f.kind === 'flex' && f.countedBy && renamed.has(f.countedBy))
        fields[n] = { ...f, countedBy: renamed.get(f.countedBy)! };
    let out: S = s;
    if (changed) {
      const copy = { ...s, fields } as S & { expect?: unknown; minsz?: unknown };
      // The stated layout was for the newer struct; the layout is recomputed from the fields.
      delete copy.expect;
      if (typeof copy.minsz === 'string' && renamed.has(copy.minsz)) copy.minsz = renamed.get(copy.minsz);
      if (typeof copy.minsz === 'string' && !(copy.minsz in fields)) delete copy.minsz;
      out = copy;
    }
    structMemo.set(s, out);
    return out;
  }

  const ioctls = new Set([...keep.values()].filter((v) => v.kind === 'ioctl').map((v) => v.name));
  const featureOps = new Set(
    [...keep.values()]
      .filter((v) => v.kind === 'feature')
      .flatMap((v) => (v as unknown as Feature).ops.map((o) => `${v.name}:${o}`)),
  );
  const fsmEntry = [...keep.values()].find((v) => v.kind === 'fsm') as StateMachine | undefined;
  const states = new Set(Object.keys(sets.get(fsmEntry?.states ?? '') ?? {}));
  const caps = new Set(Object.keys(sets.get(fsmEntry?.capabilities ?? '') ?? {}));
  const opKnown = (op: string) =>
    ioctls.has(op) ||
    featureOps.has(op) ||
    !/^(VFIO_|IOMMU_)/.test(op) ||
    (op.startsWith('any ioctl but ') && ioctls.has(op.slice('any ioctl but '.length)));

  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(exports)) {
    if (!isObj(v) || typeof v.kind !== 'string' || !('site' in v)) {
      out[name] = v;
      continue;
    }
    if (!keep.has(name)) continue;
    switch (v.kind) {
      case 'enum':
      case 'flags': {
        const s = v as unknown as Enumeration | FlagSet;
        const ms = sets.get(s.name)!;
        const masks = 'masks' in s ? { masks: members(s.masks) } : {};
        out[name] =
          Object.keys(ms).length === Object.keys(s.members).length &&
          (!('masks' in s) || Object.keys(masks.masks!).length === Object.keys(s.masks).length)
            ? s
            : { ...s, members: ms, ...masks };
        break;
      }
      case 'struct':
        out[name] = projectStruct(v as unknown as StructType);
        break;
      case 'ioctl': {
        const i = v as unknown as Ioctl;
        out[name] =
          i.arg.kind === 'struct' ? { ...i, arg: { kind: 'struct', struct: projectStruct(i.arg.struct) } } : i;
        break;
      }
      case 'feature': {
        const f = v as unknown as Feature;
        out[name] = f.payload ? { ...f, payload: projectStruct(f.payload) } : f;
        break;
      }
      case 'fsm': {
        const m = v as unknown as StateMachine;
        const capsOk = (cs: readonly string[]) => cs.every((c) => caps.has(c));
        const arcOk = (a: Arc) => !later(a.since, release) && states.has(a.from) && states.has(a.to) && capsOk(a.when);
        out[name] = {
          ...m,
          capabilitySets: m.capabilitySets.filter(capsOk),
          mandatory: m.mandatory.filter((c) => caps.has(c)),
          requires: Object.fromEntries(
            Object.entries(m.requires).filter(([s, req]) => states.has(s) && (req === null || capsOk(req))),
          ),
          endpointOnly: m.endpointOnly.filter((s) => states.has(s)),
          arcs: m.arcs
            .filter(arcOk)
            .map((a) =>
              a.unless.every((c) => caps.has(c)) ? a : { ...a, unless: a.unless.filter((c) => caps.has(c)) },
            ),
          // A ban that needs a capability the release lacks applies to no device; a flag that lifts a ban
          // but does not exist yet lifts nothing.
          forbidden: m.forbidden
            .filter((f: Forbidden) => states.has(f.from) && states.has(f.to) && capsOk(f.when ?? []))
            .map((f: Forbidden) =>
              (f.unless ?? []).every((c) => caps.has(c)) ? f : { ...f, unless: f.unless.filter((c) => caps.has(c)) },
            ),
        };
        break;
      }
      case 'rule': {
        const r = v as unknown as Rule;
        const b = r.body;
        if ('op' in b && !opKnown(b.op)) break;
        if (b.kind === 'capability') {
          if (!capsOk(b.ifCaps) || (b.requiresCaps && !capsOk(b.requiresCaps))) break;
          if (b.requiresOp && !opKnown(b.requiresOp)) break;
        }
        if (b.kind === 'state-validity' && b.validIn !== 'any') {
          const vi = b.validIn.filter((s) => states.has(s));
          if (!vi.length) break;
          out[name] = vi.length === b.validIn.length ? r : { ...r, body: { ...b, validIn: vi } };
          break;
        }
        if (b.kind === 'stream') {
          const ps = Object.fromEntries(Object.entries(b.perState).filter(([s]) => states.has(s)));
          if (!Object.keys(ps).length) break;
          out[name] =
            Object.keys(ps).length === Object.keys(b.perState).length ? r : { ...r, body: { ...b, perState: ps } };
          break;
        }
        out[name] = r;
        break;
      }
      default:
        out[name] = v;
    }
  }
  return out;

  function capsOk(cs: readonly string[]) {
    return cs.every((c) => caps.has(c));
  }
}
