/**
 * The checks the C layout probe makes, derived from the IR. Shared by the probe emitter (which renders
 * them as C) and by `header-check` (which reads the probe's output and needs each check's meaning).
 *
 * Dating the header: `LINUX_VERSION_CODE` from the <linux/version.h> next to it wins when there is one.
 * Without it a release counts as present when a *witness* is defined: a macro the spec dates to that
 * release or a later one (headers only grow) — never a name that meant something else at another time
 * (VFIO_DEVICE_STATE_STOP was the v1 macro 0 in 5.8–5.17 and is the v2 enumerator 1 since 5.18).
 *
 * Presence: a macro item whose name has one meaning is present when its macro is defined. Anything else
 * (structs, fields added later, enumerators, names with several meanings) is present when its release is.
 * A name the header dropped (renamed or removed) is "retired" in headers from the release that dropped it.
 * Layouts are checked per release and per ABI (i386 when the probe is built with -m32, LP64 otherwise).
 */
import { compareReleases, releaseParts } from '../../spec/dsl/release.js';
import type { Ir, IrPlacedField } from '../ir/types.js';

export type CheckKind = 'constant' | 'ioctl' | 'size' | 'align' | 'offset' | 'field-size';

/** One expected value, chosen by a preprocessor condition (layouts change with the release and the ABI). */
export interface ProbeVariant {
  /** A `#if` expression over VU_HAVE_* and VU_I386, or null for the fallback. */
  when: string | null;
  /** The C expression measured (a renamed field is measured by the name the header has). */
  expr: string;
  expected: number;
  /** Which layout this is, e.g. "i386, 5.4 to 6.6". */
  note: string;
}

export interface ProbeCheck {
  /** Stable, unique, human-readable: `size vfio_device_info`, `ioctl VFIO_MIG_GET_PRECOPY_INFO`. */
  id: string;
  kind: CheckKind;
  /** The spec item the check belongs to (`vfio_device_info`, `vfio_device_info.pad`, `VFIO_TYPE`). */
  item: string;
  /** Release the checked thing (under this name) arrived in. */
  since: string;
  /** For a name that later left the header: the first release without it. */
  until?: string;
  /** The VU_HAVE_* macro of `until`. */
  untilHave?: string;
  /** C expression measured in the newest header (each variant carries its own). */
  expr: string;
  /**
   * For macro items whose name never meant anything else: the macro whose definition proves presence.
   * Names with more than one meaning over time are dated by the header's release only.
   */
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
  /**
   * Macro names that prove a header has this release when it has no LINUX_VERSION_CODE: names the spec
   * dates to it that never meant anything else (enumerators among them simply test false).
   */
  witnesses: string[];
}

export interface ProbeModel {
  releases: ProbeRelease[];
  checks: ProbeCheck[];
}

/** KERNEL_VERSION(a, b, 0). */
export function versionCode(r: string): number {
  const [a = 0, b = 0] = releaseParts(r);
  return (a << 16) + (b << 8);
}

export const haveKey = (r: string) => `VU_HAVE_${r.replace(/\./g, '_')}`;

/** Names with more than one meaning over time (a former name of one value, and another value now or earlier). */
export function ambiguousNames(ir: Ir): Set<string> {
  const out = new Set<string>();
  for (const [name, meanings] of Object.entries(ir.formerNames))
    if (meanings.length > 1 || name in ir.constants || name in ir.ioctls) out.add(name);
  return out;
}

/** Every name the spec knows as a former name of a value: never a witness, never tested with `defined()`. */
function formerOrAmbiguous(ir: Ir): Set<string> {
  return new Set([...Object.keys(ir.formerNames), ...ambiguousNames(ir)]);
}

type Abi = 'lp64' | 'i386';
const ABI_COND: Record<Abi, string> = { i386: 'VU_I386', lp64: '!VU_I386' };

/** A value as of one release, per ABI: the C expression that measures it and what it should be. */
interface AbiValues {
  since: string;
  lp64: { expr: string; expected: number };
  i386: { expr: string; expected: number };
}

/**
 * Variants for a value that depends on the release and the ABI. `byVersion` lists, oldest first, the
 * releases where the value may change and its (expr, expected) per ABI there. i386 variants come first
 * (only when some differ from LP64); the LP64 ones end in the unconditional fallback.
 */
function abiVariants(byVersion: AbiValues[]): ProbeVariant[] {
  const spans = (abi: Abi) => {
    // newest first, neighbours with the same (expr, expected) merged into the older one
    const out: { from: string; to?: string; expr: string; expected: number }[] = [];
    for (let i = byVersion.length - 1; i >= 0; i--) {
      const v = byVersion[i]!;
      const cur = v[abi];
      const last = out[out.length - 1];
      if (last && last.expr === cur.expr && last.expected === cur.expected) last.from = v.since;
      else out.push({ from: v.since, ...(i < byVersion.length - 1 ? { to: byVersion[i + 1]!.since } : {}), ...cur });
    }
    // `to` of a merged span is the `from` of the span before it (newer)
    for (let i = 1; i < out.length; i++) out[i]!.to = out[i - 1]!.from;
    return out;
  };
  const lp = spans('lp64');
  const i3 = spans('i386');
  const same = JSON.stringify(lp) === JSON.stringify(i3);
  const note = (abi: Abi, s: { from: string; to?: string }, single: boolean) =>
    single && !s.to
      ? same
        ? ''
        : abi
      : `${same ? '' : `${abi}, `}${s.to ? `${s.from} until ${s.to}` : `as of ${s.from}`}`;
  const out: ProbeVariant[] = [];
  if (!same)
    i3.forEach((s, i) =>
      out.push({
        when: i === i3.length - 1 ? ABI_COND.i386 : `${ABI_COND.i386} && ${haveKey(s.from)}`,
        expr: s.expr,
        expected: s.expected,
        note: note('i386', s, i3.length === 1),
      }),
    );
  lp.forEach((s, i) =>
    out.push({
      when: i === lp.length - 1 ? null : haveKey(s.from),
      expr: s.expr,
      expected: s.expected,
      note: note('lp64', s, lp.length === 1),
    }),
  );
  return out;
}

/** Build the probe's checks from the IR, in a stable order: constants, former names, ioctls, structs. */
export function probeModel(ir: Ir): ProbeModel {
  const byRelease = new Map<string, Set<string>>();
  const notWitness = formerOrAmbiguous(ir);
  const witness = (release: string, name: string) => {
    if (!byRelease.has(release)) byRelease.set(release, new Set());
    if (!notWitness.has(name)) byRelease.get(release)!.add(name);
  };
  const checks: ProbeCheck[] = [];
  const since = (r: string) => {
    if (!byRelease.has(r)) byRelease.set(r, new Set());
    return { since: r, have: haveKey(r), sinceCode: versionCode(r) };
  };
  const until = (r: string) => {
    if (!byRelease.has(r)) byRelease.set(r, new Set());
    return { until: r, untilHave: haveKey(r) };
  };
  const plain = (expr: string, expected: number): ProbeVariant[] => [{ when: null, expr, expected, note: '' }];

  for (const [name, value] of Object.entries(ir.constants)) {
    const info = ir.constantInfo[name];
    const r = info?.nameSince ?? info?.since ?? '0';
    witness(r, name);
    checks.push({
      id: `constant ${name}`,
      kind: 'constant',
      item: name,
      expr: name,
      ...(notWitness.has(name) ? {} : { macro: name }),
      ...since(r),
      variants: plain(name, value),
    });
  }
  for (const [name, meanings] of Object.entries(ir.formerNames)) {
    for (const m of meanings) {
      checks.push({
        id: `constant ${name} (${m.from} until ${m.until})`,
        kind: 'constant',
        item: name,
        expr: name,
        ...since(m.from),
        ...until(m.until),
        variants: [{ when: null, expr: name, expected: m.value, note: `now ${m.current}` }],
      });
    }
  }
  for (const [name, io] of Object.entries(ir.ioctls)) {
    witness(io.since, name);
    checks.push({
      id: `ioctl ${name}`,
      kind: 'ioctl',
      item: name,
      expr: name,
      ...(notWitness.has(name) ? {} : { macro: name }),
      ...since(io.since),
      variants: plain(name, io.number),
    });
  }
  /** A layout value measured per release and ABI, checked by the expression of the newest release. */
  const layout = (kind: CheckKind, item: string, from: string, byVersion: AbiValues[]): ProbeCheck => ({
    id: `${kind} ${item}`,
    kind,
    item,
    expr: byVersion[byVersion.length - 1]!.lp64.expr,
    ...since(from),
    variants: abiVariants(byVersion),
  });
  for (const [name, s] of Object.entries(ir.structs)) {
    const c = `struct ${name}`;
    const versions = s.versions;
    for (const v of versions) since(v.since);
    for (const [kind, expr] of [
      ['size', `sizeof(${c})`],
      ['align', `_Alignof(${c})`],
    ] as const)
      checks.push(
        layout(
          kind,
          name,
          s.since,
          versions.map((v) => ({
            since: v.since,
            lp64: { expr, expected: v.lp64[kind] },
            i386: { expr, expected: v.i386[kind] },
          })),
        ),
      );
    // one offset and one size check per current field, measured by the name each release gave it
    const fields = [...new Set(versions.flatMap((v) => v.fields.map((f) => f.field)))];
    for (const field of fields) {
      const present = versions
        .map((v) => ({ since: v.since, f: v.fields.find((x) => x.field === field) }))
        .filter((x): x is { since: string; f: IrPlacedField } => !!x.f);
      const at = (exprOf: (n: string) => string, prop: 'offset' | 'size') =>
        present.map(({ since: r, f }) => ({
          since: r,
          lp64: { expr: exprOf(f.name), expected: f.lp64[prop] },
          i386: { expr: exprOf(f.name), expected: f.i386[prop] },
        }));
      const item = `${name}.${field}`;
      const from = present[0]!.since;
      const offsetOf = (n: string) => `offsetof(${c}, ${n})`;
      const sizeOf = (n: string) => `sizeof(((${c} *)0)->${n})`;
      checks.push(layout('offset', item, from, at(offsetOf, 'offset')));
      if (!present[present.length - 1]!.f.flex) checks.push(layout('field-size', item, from, at(sizeOf, 'size')));
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
