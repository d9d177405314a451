/**
 * The checks the C layout probe makes, derived from the IR. Shared by the probe emitter (which renders
 * them as C) and by `header-check` (which reads the probe's output and needs each check's meaning).
 *
 * Presence: a macro item (constant, ioctl) is present when its own macro is defined. Anything else
 * (structs, fields added later, enumerators such as VFIO_DEVICE_STATE_*) is present when a *witness*
 * of its release is: any macro the spec dates to that release or to a later one (headers only grow),
 * or, failing that, `LINUX_VERSION_CODE` from <linux/version.h>.
 */
import type { Ir, IrField, IrStruct } from '../ir/types.js';

export type CheckKind = 'constant' | 'ioctl' | 'size' | 'align' | 'offset' | 'field-size';

/** One expected value, chosen by a preprocessor condition (struct sizes change as fields arrive). */
export interface ProbeVariant {
  /** A `#if` expression over the VU_HAVE_* release macros, or null for the fallback. */
  when: string | null;
  expected: number;
  /** Which release's layout this is, e.g. "as of 6.6". */
  note: string;
}

export interface ProbeCheck {
  /** Stable, unique, human-readable: `size vfio_device_info`, `ioctl VFIO_MIG_GET_PRECOPY_INFO`. */
  id: string;
  kind: CheckKind;
  /** The spec item the check belongs to (`vfio_device_info`, `vfio_device_info.pad`, `VFIO_TYPE`). */
  item: string;
  /** Release the checked thing arrived in. */
  since: string;
  /** C expression measured in the header. */
  expr: string;
  /** For macro items: the macro whose definition proves presence. */
  macro?: string;
  /** The VU_HAVE_* macro that says the release `since` is in the header. */
  have: string;
  /** `since` as a KERNEL_VERSION code, for the "defined earlier than the spec says" check. */
  sinceCode: number;
  variants: ProbeVariant[];
}

export interface ProbeRelease {
  release: string;
  /** `VU_HAVE_6_2` */
  key: string;
  code: number;
  /** Macro names the spec dates to this release (enumerators among them simply test false). */
  witnesses: string[];
}

export interface ProbeModel {
  releases: ProbeRelease[];
  checks: ProbeCheck[];
}

/** "6.12" → [6, 12]; compares numerically. */
export function releaseParts(r: string): number[] {
  return r.split('.').map((p) => Number.parseInt(p, 10) || 0);
}

export function compareReleases(a: string, b: string): number {
  const x = releaseParts(a);
  const y = releaseParts(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

/** KERNEL_VERSION(a, b, 0). */
export function versionCode(r: string): number {
  const [a = 0, b = 0] = releaseParts(r);
  return (a << 16) + (b << 8);
}

export const haveKey = (r: string) => `VU_HAVE_${r.replace(/\./g, '_')}`;

const roundUp = (n: number, a: number) => Math.ceil(n / a) * a;

/** Size and alignment of a struct counting only the fields that exist as of a release. */
export function layoutAsOf(s: IrStruct, present: (f: IrField) => boolean): { size: number; align: number } {
  let end = 0;
  let align = 1;
  for (const f of s.fields) {
    if (!present(f)) continue;
    end = Math.max(end, f.offset + f.size);
    align = Math.max(align, f.align);
  }
  return { size: roundUp(end, align), align };
}

/** Every release a struct's layout changed in, newest first (only fields later than the struct count). */
function fieldReleases(s: IrStruct): string[] {
  const set = new Set<string>();
  for (const f of s.fields) if (f.since && compareReleases(f.since, s.since) > 0) set.add(f.since);
  return [...set].sort((a, b) => compareReleases(b, a));
}

/** The layout variants of one struct property (size or align), newest release first. */
function layoutVariants(s: IrStruct, prop: 'size' | 'align'): ProbeVariant[] {
  const later = fieldReleases(s);
  const out: ProbeVariant[] = [];
  for (const r of later) {
    const l = layoutAsOf(s, (f) => !f.since || compareReleases(f.since, r) <= 0);
    out.push({ when: haveKey(r), expected: l[prop], note: `as of ${r}` });
  }
  const base = layoutAsOf(s, (f) => !f.since || compareReleases(f.since, s.since) <= 0);
  out.push({ when: null, expected: base[prop], note: `as of ${s.since}` });
  // The newest layout is the struct's own (the IR's size/align), the older ones are derived from it.
  out[0]!.expected = s[prop];
  // Collapse variants that agree with the next older one (e.g. alignment unchanged by a u32 field).
  return out.filter((v, i) => i === out.length - 1 || v.expected !== out[i + 1]?.expected);
}

/** Fields added later must sit after every older field, or older offsets would have moved. */
function assertAppendOnly(name: string, s: IrStruct): void {
  let lastOld = -1;
  for (const f of s.fields)
    if (!f.since || compareReleases(f.since, s.since) <= 0) lastOld = Math.max(lastOld, f.offset);
  for (const f of s.fields) {
    if (f.since && compareReleases(f.since, s.since) > 0 && f.offset < lastOld) {
      throw new Error(
        `c-probe: ${name}.${f.name} (since ${f.since}) sits before older fields; the probe cannot date it`,
      );
    }
  }
}

/** Build the probe's checks from the IR, in a stable order: constants, ioctls, structs. */
export function probeModel(ir: Ir): ProbeModel {
  const byRelease = new Map<string, Set<string>>();
  const witness = (release: string, name: string) => {
    if (!byRelease.has(release)) byRelease.set(release, new Set());
    byRelease.get(release)!.add(name);
  };
  const checks: ProbeCheck[] = [];
  const since = (r: string) => {
    if (!byRelease.has(r)) byRelease.set(r, new Set());
    return { since: r, have: haveKey(r), sinceCode: versionCode(r) };
  };

  for (const [name, value] of Object.entries(ir.constants)) {
    const r = ir.constantInfo[name]?.since ?? '0';
    witness(r, name);
    checks.push({
      id: `constant ${name}`,
      kind: 'constant',
      item: name,
      expr: name,
      macro: name,
      ...since(r),
      variants: [{ when: null, expected: value, note: '' }],
    });
  }
  for (const [name, io] of Object.entries(ir.ioctls)) {
    witness(io.since, name);
    checks.push({
      id: `ioctl ${name}`,
      kind: 'ioctl',
      item: name,
      expr: name,
      macro: name,
      ...since(io.since),
      variants: [{ when: null, expected: io.number, note: '' }],
    });
  }
  for (const [name, s] of Object.entries(ir.structs)) {
    assertAppendOnly(name, s);
    const c = `struct ${name}`;
    checks.push({
      id: `size ${name}`,
      kind: 'size',
      item: name,
      expr: `sizeof(${c})`,
      ...since(s.since),
      variants: layoutVariants(s, 'size'),
    });
    checks.push({
      id: `align ${name}`,
      kind: 'align',
      item: name,
      expr: `_Alignof(${c})`,
      ...since(s.since),
      variants: layoutVariants(s, 'align'),
    });
    for (const f of s.fields) {
      const fr = f.since && compareReleases(f.since, s.since) > 0 ? f.since : s.since;
      if (f.ir.kind === 'union') {
        for (const m of f.ir.members) {
          const mr = m.since && compareReleases(m.since, fr) > 0 ? m.since : fr;
          const path = f.ir.anonymous ? m.name : `${f.name}.${m.name}`;
          checks.push({
            id: `offset ${name}.${path}`,
            kind: 'offset',
            item: `${name}.${path}`,
            expr: `offsetof(${c}, ${path})`,
            ...since(mr),
            variants: [{ when: null, expected: f.offset + m.offset, note: '' }],
          });
          checks.push({
            id: `field-size ${name}.${path}`,
            kind: 'field-size',
            item: `${name}.${path}`,
            expr: `sizeof(((${c} *)0)->${path})`,
            ...since(mr),
            variants: [{ when: null, expected: m.size, note: '' }],
          });
        }
        continue;
      }
      checks.push({
        id: `offset ${name}.${f.name}`,
        kind: 'offset',
        item: `${name}.${f.name}`,
        expr: `offsetof(${c}, ${f.name})`,
        ...since(fr),
        variants: [{ when: null, expected: f.offset, note: '' }],
      });
      if (f.ir.kind !== 'flex') {
        checks.push({
          id: `field-size ${name}.${f.name}`,
          kind: 'field-size',
          item: `${name}.${f.name}`,
          expr: `sizeof(((${c} *)0)->${f.name})`,
          ...since(fr),
          variants: [{ when: null, expected: f.size, note: '' }],
        });
      }
    }
  }
  const releases = [...byRelease.keys()]
    .sort((a, b) => compareReleases(b, a))
    .map((release) => ({
      release,
      key: haveKey(release),
      code: versionCode(release),
      witnesses: [...(byRelease.get(release) ?? [])].sort(),
    }));
  const ids = new Set<string>();
  for (const c of checks) {
    if (ids.has(c.id)) throw new Error(`c-probe: duplicate check ${c.id}`);
    ids.add(c.id);
  }
  return { releases, checks };
}
