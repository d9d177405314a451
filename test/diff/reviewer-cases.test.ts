/**
 * The diff cases a uAPI reviewer raised (issue 15): a renamed field is a rename on LP64 and i386, a
 * `__u64` → `__aligned_u64` retype that moves no byte is compatible, a repurposed reserved input needs
 * review with the reason, a renamed flag bit — or capability flag, or state with the same value and arcs — is
 * a source break only, an arc behind a new capability flag is opt-in, and dropping a ban for every device is
 * breaking for the devices that now do something else — with the data-fd effects named. Plus report headers
 * and links.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as spec from '../../spec/vfio/index.js';
import {
  arc,
  bit,
  enumeration,
  flags,
  flex,
  forbid,
  rule,
  stateMachine,
  struct,
  u32,
  u64,
  aligned_u64,
  union,
  u16,
  u8,
  s32,
} from '../../spec/dsl/index.js';
import { irFromExports, REPO_ROOT } from '../../generator/ir/load.js';
import type { Ir } from '../../generator/ir/types.js';
import { migrationWith } from '../fsm/migration-with.js';
import {
  diffIr,
  exitCodeOf,
  loadSide,
  normaliseOverlay,
  resolveSide,
  type Change,
} from '../../generator/diff/index.js';

const S = spec as unknown as Record<string, unknown>;
let base: Ir;
const variant = async (over: Record<string, unknown>) =>
  irFromExports(normaliseOverlay({ ...S, ...over }).exports, { docs: false });
const only = (cs: Change[], rule: string, item?: string) => {
  const c = cs.find((x) => x.rule === rule && (item === undefined || x.item === item));
  expect(c, `${rule} ${item ?? ''} in ${cs.map((x) => `${x.rule}:${x.item}`).join(', ')}`).toBeDefined();
  return c!;
};
const rules = (cs: Change[]) => cs.map((c) => `${c.rule} ${c.item}`);
const levels = (c: Change) => [c.userspace.level, c.drivers.level];

beforeAll(async () => {
  base = await irFromExports(S, { docs: false });
});

describe('struct fields: offsets and sizes, never names', () => {
  it('dma_logging_control.__reserved → flags is a rename plus a repurposed reserved input (needs review, with why)', async () => {
    const controlFlags = flags(
      'vfio_dma_logging_control_flags',
      { SOME_MODE: bit(0) },
      { prefix: 'VFIO_DMA_LOGGING_', since: '7.4' },
    );
    const f = spec.vfio_device_feature_dma_logging_control.fields;
    const renamed = struct(
      'vfio_device_feature_dma_logging_control',
      { page_size: f.page_size, num_ranges: f.num_ranges, flags: u32.flagsOf(controlFlags), ranges: f.ranges },
      { since: '6.1', expect: { size: 24, align: 8 } },
    );
    const cs = diffIr(
      base,
      await variant({ vfio_device_feature_dma_logging_control: renamed, vfio_dma_logging_control_flags: controlFlags }),
    );
    const r = only(cs, 'struct.field-renamed', 'vfio_device_feature_dma_logging_control.__reserved');
    expect(r.message).toMatch(/__reserved renamed to flags \(same offset 12, 4 B\)/);
    expect(levels(r)).toEqual(['needs-review', 'compatible']);
    const re = only(cs, 'struct.reserved-field-repurposed', 'vfio_device_feature_dma_logging_control.flags');
    expect(levels(re)).toEqual(['needs-review', 'needs-review']);
    expect(re.userspace.why).toMatch(
      /old callers may pass anything in __reserved .* unless every kernel since 6\.1 refused a non-zero value/,
    );
    // Same bytes on LP64 and on i386: no layout change is reported, and nothing is breaking.
    expect(
      rules(cs).filter((x) => /size-changed|layout-changed|offset-changed|field-removed|field-added/.test(x)),
    ).toEqual([]);
    expect(cs.filter((c) => c.severity === 'breaking')).toEqual([]);
    expect(exitCodeOf(cs)).toBe(11);
  });

  it('renaming the counter of a flexible array is one rename, not a change of the array', async () => {
    const f = spec.vfio_pci_hot_reset_info.fields;
    const renamed = struct(
      'vfio_pci_hot_reset_info',
      {
        argsz: f.argsz,
        flags: f.flags,
        nr_devices: u32,
        devices: flex(f.devices.element, { countedBy: 'nr_devices' }),
      },
      { since: '3.12', minsz: 'nr_devices' },
    );
    const cs = diffIr(base, await variant({ vfio_pci_hot_reset_info: renamed }));
    expect(rules(cs)).toEqual(['struct.field-renamed vfio_pci_hot_reset_info.count']);
  });

  it('an output-only reserved field that gains a meaning stays compatible for userspace', async () => {
    const f = spec.vfio_device_feature_dma_logging_control.fields;
    const out = struct(
      'vfio_device_feature_dma_logging_control',
      { page_size: f.page_size, num_ranges: f.num_ranges, chosen: u32.out(), ranges: f.ranges },
      { since: '6.1' },
    );
    const cs = diffIr(base, await variant({ vfio_device_feature_dma_logging_control: out }));
    expect(cs.some((c) => c.rule === 'struct.reserved-field-repurposed')).toBe(false);
    expect(only(cs, 'struct.field-role-changed').userspace.level).toBe('compatible');
  });

  it('an i386-only layout change (u64 → __aligned_u64 after a u32) is breaking for 32-bit userspace', async () => {
    const base32 = struct('vfio_test_i386', { argsz: u32.argsz(), flags: u32, a: u32, v: u64 }, { since: '6.1' });
    const retyped = struct(
      'vfio_test_i386',
      { argsz: u32.argsz(), flags: u32, a: u32, v: aligned_u64 },
      { since: '6.1' },
    );
    const x = await variant({ vfio_test_i386: base32 });
    const y = await variant({ vfio_test_i386: retyped });
    expect([x.structs.vfio_test_i386!.size, y.structs.vfio_test_i386!.size]).toEqual([24, 24]);
    expect([x.structs.vfio_test_i386!.i386.size, y.structs.vfio_test_i386!.i386.size]).toEqual([20, 24]);
    const cs = diffIr(x, y);
    expect(only(cs, 'struct.i386-field-offset-changed', 'vfio_test_i386.v').message).toMatch(
      /on 32-bit x86 field v moved from offset 12 to 16/,
    );
    expect(only(cs, 'struct.i386-layout-changed', 'vfio_test_i386').message).toMatch(/32-bit x86 size 20 → 24 bytes/);
    // The field's own bytes are the same on LP64: the break is the i386 move, not an encoding change.
    expect(levels(only(cs, 'struct.field-alignment-changed', 'vfio_test_i386.v'))).toEqual([
      'compatible',
      'compatible',
    ]);
    expect(rules(cs)).not.toContain('struct.field-type-changed vfio_test_i386.v');
  });

  it('u64 → __aligned_u64 that moves nothing (vfio_region_info in 6.7) is compatible: same bytes, i386 alignment only', async () => {
    const plain = struct(
      'vfio_test_retype',
      { argsz: u32.argsz(), flags: u32, size: u64, offset: u64 },
      { since: '6.1', minsz: 'offset' },
    );
    const aligned = struct(
      'vfio_test_retype',
      { argsz: u32.argsz(), flags: u32, size: aligned_u64, offset: aligned_u64 },
      { since: '6.1', minsz: 'offset' },
    );
    const x = await variant({ vfio_test_retype: plain });
    const y = await variant({ vfio_test_retype: aligned });
    expect([x.structs.vfio_test_retype!.i386.size, x.structs.vfio_test_retype!.i386.align]).toEqual([24, 4]);
    expect([y.structs.vfio_test_retype!.i386.size, y.structs.vfio_test_retype!.i386.align]).toEqual([24, 8]);
    const cs = diffIr(x, y);
    const f = only(cs, 'struct.field-alignment-changed', 'vfio_test_retype.size');
    expect(f.message).toBe(
      'struct vfio_test_retype: field size __u64 → __aligned_u64: the same 8 bytes at offset 8; on 32-bit x86 8-aligned now (was 4)',
    );
    expect(levels(f)).toEqual(['compatible', 'compatible']);
    const a = only(cs, 'struct.i386-alignment-changed', 'vfio_test_retype');
    expect(a.message).toMatch(/32-bit x86 alignment 4 → 8 \(size 24 and every offset unchanged\)/);
    expect(levels(a)).toEqual(['compatible', 'compatible']);
    expect(rules(cs).filter((r) => /type-changed|layout-changed|offset-changed/.test(r))).toEqual([]);
    expect(exitCodeOf(cs)).toBe(10);
  });

  it('growing on i386 only, at the end and within argsz (vfio_iommu_type1_info 20 → 24) is compatible; without argsz it breaks', async () => {
    const before = (argsz: boolean) =>
      struct(
        'vfio_test_grow',
        { argsz: argsz ? u32.argsz() : u32, flags: u32, pgsizes: u64, cap_offset: u32 },
        { since: '6.1', minsz: 'pgsizes' },
      );
    const after = (argsz: boolean) =>
      struct(
        'vfio_test_grow',
        { argsz: argsz ? u32.argsz() : u32, flags: u32, pgsizes: aligned_u64, cap_offset: u32, pad: u32.reserved() },
        { since: '6.1', minsz: 'pgsizes' },
      );
    const x = await variant({ vfio_test_grow: before(true) });
    const y = await variant({ vfio_test_grow: after(true) });
    expect([x.structs.vfio_test_grow!.size, y.structs.vfio_test_grow!.size]).toEqual([24, 24]);
    expect([x.structs.vfio_test_grow!.i386.size, y.structs.vfio_test_grow!.i386.size]).toEqual([20, 24]);
    const cs = diffIr(x, y);
    const g = only(cs, 'struct.i386-grew-within-argsz', 'vfio_test_grow');
    expect(g.message).toBe(
      'struct vfio_test_grow: 32-bit x86 size 20 → 24 bytes, alignment 4 → 8, no field moved; argsz tells the versions apart (minsz 16)',
    );
    expect(levels(g)).toEqual(['compatible', 'compatible']);
    // On LP64 `pad` fills what was tail padding: that still needs review.
    expect(only(cs, 'struct.field-added', 'vfio_test_grow.pad').severity).toBe('needs-review');
    expect(cs.filter((c) => c.severity === 'breaking')).toEqual([]);

    const noArgsz = diffIr(
      await variant({ vfio_test_grow: before(false) }),
      await variant({ vfio_test_grow: after(false) }),
    );
    expect(only(noArgsz, 'struct.i386-layout-changed', 'vfio_test_grow').severity).toBe('breaking');
  });
});

describe('flag and enum members', () => {
  it('renaming the REINIT bit is ABI-compatible and a source break, not a bit removed and a bit added', async () => {
    const renamed = flags(
      'vfio_precopy_info_flags',
      { RESTARTED: bit(0) },
      { prefix: 'VFIO_PRECOPY_INFO_', since: '7.1' },
    );
    const cs = diffIr(base, await variant({ vfio_precopy_info_flags: renamed }));
    const c = only(cs, 'flags.bit-renamed', 'vfio_precopy_info_flags.REINIT');
    expect(c.message).toMatch(/VFIO_PRECOPY_INFO_REINIT renamed to VFIO_PRECOPY_INFO_RESTARTED \(value 1 unchanged\)/);
    expect(levels(c)).toEqual(['needs-review', 'compatible']);
    expect(c.userspace.why).toMatch(/ABI-compatible .* source break/);
    expect(rules(cs).filter((x) => /bit-removed|bit-added/.test(x))).toEqual([]);
    expect(cs.filter((x) => x.severity === 'breaking')).toEqual([]);
  });

  it('a bit that really moves is still breaking', async () => {
    const moved = flags(
      'vfio_precopy_info_flags',
      { RESTARTED: bit(1) },
      { prefix: 'VFIO_PRECOPY_INFO_', since: '7.1' },
    );
    const cs = diffIr(base, await variant({ vfio_precopy_info_flags: moved }));
    expect(only(cs, 'flags.bit-removed', 'vfio_precopy_info_flags.REINIT').severity).toBe('breaking');
  });
});

describe('capability flags and migration states, judged by value', () => {
  type Arcs = typeof spec.migration.arcs;
  /**
   * The spec with capabilities and states renamed everywhere the spec names them: the flag set, the state
   * enumeration, the state machine and every rule. `arcs` may change the (renamed) arcs.
   */
  const renamedSpec = (
    caps: Record<string, string>,
    states: Record<string, string>,
    bits: Record<string, number> = {},
    arcs: (a: Arcs) => Arcs = (a) => a,
  ) => {
    const c = (n: string) => caps[n] ?? n;
    const st = (n: string) => states[n] ?? n;
    const inputs = (ms: Record<string, { value: number; since: string }>, name: (k: string) => string) =>
      Object.fromEntries(Object.entries(ms).map(([k, m]) => [name(k), { value: bits[k] ?? m.value, since: m.since }]));
    const capFlags = flags('vfio_migration_flags', inputs(spec.vfio_migration_flags.members, c), {
      prefix: 'VFIO_MIGRATION_',
      since: '5.18',
    });
    const stateEnum = enumeration('vfio_device_mig_state', inputs(spec.vfio_device_mig_state.members, st), {
      prefix: 'VFIO_DEVICE_STATE_',
      since: '5.18',
    });
    const m = spec.migration;
    const machine = stateMachine('vfio_migration', {
      since: '5.18',
      states: stateEnum,
      capabilities: capFlags,
      mandatory: m.mandatory.map(c),
      capabilitySets: m.capabilitySets.map((cs) => cs.map(c)),
      requires: Object.fromEntries(Object.entries(m.requires).map(([k, v]) => [st(k), v ? v.map(c) : null])),
      initial: st(m.initial),
      error: st(m.error),
      endpointOnly: m.endpointOnly.map(st),
      dataFd: spec.MigrationDataFd,
      arcs: [
        ...arcs(
          m.arcs.map((a) => ({ ...a, from: st(a.from), to: st(a.to), when: a.when.map(c), unless: a.unless.map(c) })),
        ),
      ],
      forbidden: m.forbidden.map((f) => ({
        ...f,
        from: st(f.from),
        to: st(f.to),
        when: f.when.map(c),
        unless: f.unless.map(c),
      })),
    });
    const rulesRenamed = Object.fromEntries(
      Object.entries(S)
        .filter(([, v]) => (v as { kind?: string }).kind === 'rule')
        .map(([k, v]) => {
          const r = v as ReturnType<typeof rule>;
          const b = r.body as Record<string, unknown>;
          return [
            k,
            {
              ...r,
              body: {
                ...b,
                ...(Array.isArray(b.validIn) ? { validIn: (b.validIn as string[]).map(st) } : {}),
                ...(b.perState
                  ? { perState: Object.fromEntries(Object.entries(b.perState).map(([x, y]) => [st(x), y])) }
                  : {}),
                ...(b.ifCaps ? { ifCaps: (b.ifCaps as string[]).map(c) } : {}),
                ...(b.requiresCaps ? { requiresCaps: (b.requiresCaps as string[]).map(c) } : {}),
              },
            },
          ];
        }),
    );
    return variant({
      ...rulesRenamed,
      vfio_migration_flags: capFlags,
      vfio_device_mig_state: stateEnum,
      migration: machine,
    });
  };

  it('renaming the P2P capability is ABI-compatible and a source break, not a capability removed and added', async () => {
    const cs = diffIr(base, await renamedSpec({ P2P: 'PEER_TO_PEER' }, {}));
    expect(rules(cs)).toEqual(['capability.renamed P2P']);
    const c = only(cs, 'capability.renamed', 'P2P');
    expect(c.message).toBe('capability VFIO_MIGRATION_P2P renamed to VFIO_MIGRATION_PEER_TO_PEER (value 2 unchanged)');
    expect(levels(c)).toEqual(['needs-review', 'compatible']);
    expect(c.userspace.why).toMatch(/ABI-compatible .* source break: code that names VFIO_MIGRATION_P2P/);
    expect(exitCodeOf(cs)).toBe(11);
  });

  it('renaming a state with the same value and arcs is a rename, not a state removed and added', async () => {
    const cs = diffIr(base, await renamedSpec({}, { RUNNING_P2P: 'QUIESCED' }));
    expect(rules(cs)).toEqual(['state.renamed RUNNING_P2P']);
    const c = only(cs, 'state.renamed', 'RUNNING_P2P');
    expect(c.message).toBe(
      'state VFIO_DEVICE_STATE_RUNNING_P2P renamed to VFIO_DEVICE_STATE_QUIESCED (value 5 and its arcs unchanged)',
    );
    expect(levels(c)).toEqual(['needs-review', 'compatible']);
    expect(exitCodeOf(cs)).toBe(11);
  });

  it('a capability and a state of the same name (PRE_COPY) renamed together: two renames, nothing else', async () => {
    const cs = diffIr(
      base,
      await renamedSpec({ PRE_COPY: 'EARLY_COPY' }, { PRE_COPY: 'EARLY', PRE_COPY_P2P: 'EARLY_P2P' }),
    );
    expect(rules(cs).sort()).toEqual([
      'capability.renamed PRE_COPY',
      'state.renamed PRE_COPY',
      'state.renamed PRE_COPY_P2P',
    ]);
  });

  it('a state that keeps the value but not the arcs is still a state removed and another added', async () => {
    const y = await renamedSpec({}, { RUNNING_P2P: 'QUIESCED' }, {}, (as) =>
      as.filter((a) => !(a.from === 'STOP' && a.to === 'QUIESCED')),
    );
    const cs = diffIr(base, y);
    expect(rules(cs)).not.toContain('state.renamed RUNNING_P2P');
    expect(only(cs, 'state.removed', 'RUNNING_P2P').severity).toBe('breaking');
    expect(only(cs, 'state.added', 'QUIESCED')).toBeDefined();
  });

  it('a capability renamed onto another bit is a capability removed (breaking)', async () => {
    const cs = diffIr(base, await renamedSpec({ P2P: 'PEER_TO_PEER' }, {}, { P2P: 8 }));
    expect(rules(cs)).not.toContain('capability.renamed P2P');
    expect(only(cs, 'capability.removed', 'P2P').severity).toBe('breaking');
  });

  it('a member of the state enumeration that is no state (NR) renamed is an enum member rename', async () => {
    const cs = diffIr(base, await renamedSpec({}, { NR: 'COUNT' }));
    expect(rules(cs)).toEqual(['enum.member-renamed vfio_device_mig_state.NR']);
  });
});

describe('an optional STOP_COPY → PRE_COPY arc behind a new capability flag', () => {
  const f = spec.migration;
  const caps = flags(
    'vfio_migration_flags',
    { STOP_COPY: bit(0), P2P: bit(1), PRE_COPY: bit(2, { since: '6.2' }), PRE_COPY_AGAIN: bit(3, { since: '7.4' }) },
    { prefix: 'VFIO_MIGRATION_', since: '5.18' },
  );
  const machine = (forbidden: ReturnType<typeof forbid>[]) =>
    migrationWith({
      capabilities: caps,
      capabilitySets: [
        ...f.capabilitySets.map((c) => [...c]),
        ['STOP_COPY', 'PRE_COPY', 'PRE_COPY_AGAIN'],
        ['STOP_COPY', 'P2P', 'PRE_COPY', 'PRE_COPY_AGAIN'],
      ],
      arcs: [
        ...f.arcs,
        arc('STOP_COPY', 'PRE_COPY', { when: ['PRE_COPY', 'PRE_COPY_AGAIN'], fd: 'keeps', since: '7.4' }),
      ],
      forbidden,
    });
  const [stopToPre, stopToPreP2p] = f.forbidden;

  it('with the ban lifted only by the new flag (forbid … unless), every change is compatible', async () => {
    const m = machine([
      forbid('STOP_COPY', 'PRE_COPY', {
        unless: ['PRE_COPY_AGAIN'],
        kernelFix: spec.blockedArcEinval,
        doc: stopToPre!.doc,
      }),
      stopToPreP2p!,
    ]);
    const y = await variant({ vfio_migration_flags: caps, migration: m });
    // The spec can say it, and the derived paths follow: only devices with the flag get the arc.
    expect(y.fsm.paths['STOP_COPY+PRE_COPY+PRE_COPY_AGAIN']!['STOP_COPY']!['PRE_COPY']).toEqual(['PRE_COPY']);
    expect(y.fsm.paths['STOP_COPY+PRE_COPY']!['STOP_COPY']!['PRE_COPY']).toBeNull();
    const cs = diffIr(base, y);
    const c = only(cs, 'fsm.forbidden-condition-changed', 'STOP_COPY->PRE_COPY');
    expect(levels(c)).toEqual(['compatible', 'compatible']);
    expect(c.userspace.why).toMatch(
      /only devices with the new PRE_COPY_AGAIN may carry it out; every other device still refuses it/,
    );
    expect(only(cs, 'fsm.arc-added', 'STOP_COPY->PRE_COPY').severity).toBe('compatible');
    expect(only(cs, 'capability.added', 'PRE_COPY_AGAIN').severity).toBe('compatible');
    expect(cs.filter((x) => x.rule === 'fsm.path-changed')).toEqual([]);
    expect(cs.filter((x) => x.severity !== 'compatible')).toEqual([]);
    expect(exitCodeOf(cs)).toBe(10);
  });

  it('the generated guard refuses it on devices without the flag and lets the flag lift it', async () => {
    const m = machine([forbid('STOP_COPY', 'PRE_COPY', { unless: ['PRE_COPY_AGAIN'] }), stopToPreP2p!]);
    const y = await variant({ vfio_migration_flags: caps, migration: m });
    const fb = y.fsm.forbidden.find((x) => x.to === 'PRE_COPY')!;
    expect([fb.when, fb.unless]).toEqual([[], ['PRE_COPY_AGAIN']]);
    // Same facts the validators template checks: forbidden for STOP_COPY+PRE_COPY, not with the new flag.
    const { isForbidden } = await import('../../generator/fsm/derive.js');
    expect(isForbidden(y.fsm, ['STOP_COPY', 'PRE_COPY'], 'STOP_COPY', 'PRE_COPY')).toBe(true);
    expect(isForbidden(y.fsm, ['STOP_COPY', 'PRE_COPY', 'PRE_COPY_AGAIN'], 'STOP_COPY', 'PRE_COPY')).toBe(false);
  });

  it('dropping the ban for every device instead is breaking: existing PRE_COPY devices end the live fd and open a new one', async () => {
    const y = await variant({ vfio_migration_flags: caps, migration: machine([stopToPreP2p!]) });
    const cs = diffIr(base, y);
    const removed = only(cs, 'fsm.forbidden-removed', 'STOP_COPY->PRE_COPY');
    expect(removed.userspace.level).toBe('breaking');
    expect(removed.details).toEqual([
      'STOP_COPY+PRE_COPY: STOP_COPY → PRE_COPY: refused  ⇒  STOP → RUNNING → PRE_COPY (STOP_COPY → STOP ends the data fd; RUNNING → PRE_COPY opens a new saving fd)',
      'STOP_COPY+P2P+PRE_COPY: STOP_COPY → PRE_COPY: refused  ⇒  STOP → RUNNING_P2P → RUNNING → PRE_COPY (STOP_COPY → STOP ends the data fd; RUNNING → PRE_COPY opens a new saving fd)',
    ]);
    const path = only(cs, 'fsm.path-changed', 'STOP_COPY+PRE_COPY');
    expect(path.userspace.level).toBe('breaking');
    expect(path.message).toMatch(/1 now carried out where they were refused/);
    expect(exitCodeOf(cs)).toBe(20);
  });
});

describe('report headers and links', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vfio-uapi-diff-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a git revision is named by its abbreviated id and subject, not a full SHA', () => {
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const subject = execFileSync('git', ['log', '-1', '--format=%s'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const side = resolveSide(sha);
    expect(side.label.startsWith(`${sha.slice(0, 12)} ("`)).toBe(true);
    expect(side.label).toContain(subject.slice(0, 40));
    expect(side.label).not.toContain(sha);
    expect(resolveSide('HEAD').label.startsWith(`HEAD ${sha.slice(0, 12)} ("`)).toBe(true);
  });

  it('the SVG link is relative to the report file, and absolute when the report goes to stdout', () => {
    const run = (args: string[]) =>
      spawnSync(
        process.execPath,
        [
          join(REPO_ROOT, 'packages/vfio-uapi/bin/vfio-uapi.js'),
          'diff',
          'examples/uapi-history/v6.1',
          'examples/uapi-history/v6.2',
          '--no-docs',
          '--format',
          'markdown',
          ...args,
        ],
        { cwd: REPO_ROOT, encoding: 'utf8' },
      );
    const toFile = run(['--svg-dir', join(dir, 'svg'), '--out', join(dir, 'out/report.md')]);
    expect(toFile.status).toBe(11);
    const link = /!\[both state machines[^\]]*\]\(([^)]+)\)/.exec(
      readFileSync(join(dir, 'out/report.md'), 'utf8'),
    )![1]!;
    expect(link).toBe('../svg/fsm-diff.svg');
    const toStdout = run(['--svg-dir', join(dir, 'svg2')]);
    const abs = /!\[both state machines[^\]]*\]\(([^)]+)\)/.exec(toStdout.stdout)![1]!;
    expect(isAbsolute(abs)).toBe(true);
    expect(abs).toBe(join(dir, 'svg2/fsm-diff.svg'));
  });
});

describe('rule strength: must, should, estimate', () => {
  const accounting = (strength: 'must' | 'should' | 'estimate', note = 'no bound') =>
    rule('precopy.accounting', {
      since: '6.2',
      kind: 'behaviour',
      strength,
      ...(strength === 'estimate' ? { tolerance: { stated: false, note } } : {}),
    });
  it('must → estimate is breaking for userspace; should ⇄ estimate needs review; a reworded tolerance note is not a change', async () => {
    const must = await variant({ precopyAccounting: accounting('must') });
    const should = await variant({ precopyAccounting: accounting('should') });
    const c = only(diffIr(must, base), 'rule.made-optional', 'precopy.accounting');
    expect(c.message).toBe('rule precopy.accounting: must → estimate');
    expect(levels(c)).toEqual(['breaking', 'compatible']);
    expect(c.userspace.why).toMatch(/no longer rely on exact values/);
    expect(levels(only(diffIr(should, base), 'rule.strength-changed', 'precopy.accounting'))).toEqual([
      'needs-review',
      'needs-review',
    ]);
    expect(only(diffIr(base, must), 'rule.made-mandatory', 'precopy.accounting').message).toMatch(/estimate → must/);
    const reworded = await variant({ precopyAccounting: accounting('estimate', 'another wording, still no bound') });
    expect(diffIr(base, reworded).filter((x) => x.rule === 'rule.tolerance-changed')).toEqual([]);
  });
});

describe('the 2022 review, step by step (examples/uapi-history)', () => {
  const ex = (p: string) => join(REPO_ROOT, 'examples/uapi-history', p);
  const load = async (p: string) => (await loadSide(resolveSide(ex(p)), { docs: false })).ir;

  it('the proposal → v7 07/10 (2 Mar 2022): EINVAL outside PRE_COPY first appears, and BASE+22 → BASE+21', async () => {
    const cs = diffIr(await load('rfc-2022'), await load('v7-2022'));
    const n = only(cs, 'rule.valid-states-narrowed', 'precopy.valid_states');
    expect(n.details).toEqual(['valid in: PRE_COPY, PRE_COPY_P2P, STOP_COPY  ⇒  PRE_COPY']);
    expect(only(cs, 'ioctl.number-changed', 'VFIO_MIG_GET_PRECOPY_INFO').message).toMatch(/nr 122 → 121/);
    expect(cs.some((c) => c.rule === 'rule.made-mandatory')).toBe(false); // v7 still said "optional"
  });

  it('v7 07/10 → merged: PRE_COPY_P2P added back (the follow-up), support made mandatory', async () => {
    const cs = diffIr(await load('v7-2022'), await load('v6.2'));
    expect(only(cs, 'rule.valid-states-widened', 'precopy.valid_states').details).toEqual([
      'valid in: PRE_COPY  ⇒  PRE_COPY, PRE_COPY_P2P',
    ]);
    expect(only(cs, 'rule.made-mandatory', 'precopy.mandatory').drivers.level).toBe('breaking');
  });

  it('the allow-list cites the messages with list, date and subject', () => {
    const text = readFileSync(ex('allowed-breaks.txt'), 'utf8');
    const line = (id: string) => text.split('\n').find((l) => l.startsWith(id))!;
    expect(line('rule.valid-states-narrowed')).toMatch(
      /Alex Williamson replying to Jason Gunthorpe, 1 Mar 2022, "Re: \[PATCH v6 09\/10\] hisi_acc_vfio_pci: Add support for VFIO live migration".*"\[PATCH v7 07\/10\] vfio: Extend the device migration protocol with PRE_COPY", 2 Mar 2022.*PRE_COPY_P2P/,
    );
    expect(text).toMatch(/kvm@vger\.kernel\.org/);
    expect(line('rule.made-mandatory')).toMatch(/v7 07\/10 \(2 Mar 2022\) still said optional/);
  });
});

describe('unions', () => {
  const dependent = (members: Record<string, unknown>) =>
    struct(
      'vfio_pci_dependent_device',
      {
        group_id: union('vfio_pci_dependent_device_id', members as never, { since: '3.12', anonymous: true }),
        segment: u16,
        bus: u8,
        devfn: u8,
      },
      { since: '3.12', expect: { size: 8, align: 4 } },
    );

  it('a union that gains a member within its size (devid beside group_id) is another reading of the bytes', async () => {
    const before = await variant({ vfio_pci_dependent_device: dependent({ group_id: u32 }) });
    const cs = diffIr(before, base);
    const c = only(cs, 'struct.union-member-added', 'vfio_pci_dependent_device.group_id');
    expect(c.message).toMatch(/gains devid \(4 B, no member moved\)/);
    expect(levels(c)).toEqual(['compatible', 'needs-review']);
    expect(cs.some((x) => x.rule === 'struct.field-type-changed')).toBe(false);
  });

  it('a union whose member changes type is still an ABI break', async () => {
    const cs = diffIr(base, await variant({ vfio_pci_dependent_device: dependent({ group_id: u32, devid: s32 }) }));
    expect(levels(only(cs, 'struct.field-type-changed', 'vfio_pci_dependent_device.group_id'))).toEqual([
      'breaking',
      'breaking',
    ]);
  });
});
