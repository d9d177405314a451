import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as spec from '../../spec/vfio/index.js';
import {
  arc,
  enumeration,
  feature,
  flags,
  forbid,
  ioctl,
  removed,
  rule,
  struct,
  u32,
  aligned_u64,
  bit,
  addedIn,
  byPointer,
} from '../../spec/dsl/index.js';
import { irFromExports, REPO_ROOT } from '../../generator/ir/load.js';
import type { Ir } from '../../generator/ir/types.js';
import { migrationWith } from '../fsm/migration-with.js';
import {
  applyAllowList,
  diffIr,
  diffSides,
  exitCodeOf,
  loadSide,
  normaliseOverlay,
  parseAllowList,
  resolveSide,
  renderJson,
  renderMarkdown,
  renderText,
  type Change,
} from '../../generator/diff/index.js';

const ex = (p: string) => join(REPO_ROOT, 'examples/uapi-history', p);
const S = spec as unknown as Record<string, unknown>;
let base: Ir;
const variant = async (over: Record<string, unknown>) =>
  irFromExports(normaliseOverlay({ ...S, ...over }).exports, { docs: false });
const find = (cs: Change[], rule: string, item?: string) =>
  cs.find((c) => c.rule === rule && (item === undefined || c.item === item));
const only = (cs: Change[], rule: string, item?: string) => {
  const c = find(cs, rule, item);
  expect(c, `${rule} ${item ?? ''} in ${cs.map((x) => `${x.rule}:${x.item}`).join(', ')}`).toBeDefined();
  return c!;
};

beforeAll(async () => {
  base = await irFromExports(S, { docs: false });
});

describe('the three history examples', () => {
  it('2022 review: RFC → merged', async () => {
    const a = await loadSide(resolveSide(ex('rfc-2022')), { docs: false });
    const b = await loadSide(resolveSide(ex('v6.2')), { docs: false });
    const r = diffSides(a, b);
    const narrowed = only(r.changes, 'rule.valid-states-narrowed', 'precopy.valid_states');
    expect(narrowed.userspace.level).toBe('breaking');
    expect(narrowed.userspace.why).toMatch(/userspace that called VFIO_MIG_GET_PRECOPY_INFO in STOP_COPY/);
    expect(narrowed.drivers.level).toBe('breaking');
    expect(narrowed.drivers.why).toMatch(/drivers that answered .* in STOP_COPY: they must now fail with EINVAL/);
    const mandatory = only(r.changes, 'rule.made-mandatory', 'precopy.mandatory');
    expect([mandatory.userspace.level, mandatory.drivers.level]).toEqual(['compatible', 'breaking']);
    expect(only(r.changes, 'ioctl.number-changed', 'VFIO_MIG_GET_PRECOPY_INFO').severity).toBe('breaking');
    expect(only(r.changes, 'feature.added', 'VFIO_DEVICE_FEATURE_MIG_DATA_SIZE').severity).toBe('compatible');
    expect(only(r.changes, 'rule.added', 'data_size.any_state').severity).toBe('compatible');
    expect(exitCodeOf(r.changes)).toBe(20);
    // With the allow-list, the approved breaks no longer make the exit code breaking.
    const allowed = diffSides(a, b, { allow: ex('allowed-breaks.txt') });
    expect(allowed.staleAllows).toEqual([]);
    expect(
      allowed.changes
        .filter((c) => c.allowed)
        .map((c) => c.rule)
        .sort(),
    ).toEqual(['ioctl.number-changed', 'rule.made-mandatory', 'rule.valid-states-narrowed']);
    expect(exitCodeOf(allowed.changes)).toBe(10); // without docs, nothing else needs review
    expect(renderMarkdown(allowed)).toMatch(/Allowed breaks/);
  });

  it('Linux 6.1 → 6.2: pre-copy arrives, compatible for existing userspace and drivers', async () => {
    const a = await loadSide(resolveSide(ex('v6.1')), { docs: false });
    const b = await loadSide(resolveSide(ex('v6.2')), { docs: false });
    const cs = diffSides(a, b).changes;
    for (const s of ['PRE_COPY', 'PRE_COPY_P2P']) {
      const c = only(cs, 'state.added', s);
      expect([c.userspace.level, c.drivers.level]).toEqual(['compatible', 'compatible']);
    }
    expect(only(cs, 'capability.added', 'PRE_COPY').severity).toBe('compatible');
    expect(only(cs, 'ioctl.added', 'VFIO_MIG_GET_PRECOPY_INFO').severity).toBe('compatible');
    expect(only(cs, 'feature.added', 'VFIO_DEVICE_FEATURE_MIG_DATA_SIZE').severity).toBe('compatible');
    expect(only(cs, 'fsm.arc-added', 'RUNNING->PRE_COPY').severity).toBe('compatible');
    expect(only(cs, 'fsm.forbidden-added', 'STOP_COPY->PRE_COPY').severity).toBe('compatible');
    expect(only(cs, 'rule.added', 'precopy.mandatory').drivers.level).toBe('compatible');
    expect(cs.filter((c) => c.severity === 'breaking')).toEqual([]);
    expect(cs.some((c) => c.rule.startsWith('fsm.path'))).toBe(false); // old capability sets keep their paths
  });

  it('Linux 7.0 → 7.1: REINIT and MIG_PRECOPY_INFOv2', async () => {
    const a = await loadSide(resolveSide(ex('v7.0')), { docs: false });
    const b = await loadSide(resolveSide(ex('v7.1')), { docs: false });
    const cs = diffSides(a, b).changes;
    expect(only(cs, 'flags.added', 'vfio_precopy_info_flags').severity).toBe('compatible');
    expect(only(cs, 'feature.added', 'VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2').severity).toBe('compatible');
    const role = only(cs, 'struct.field-role-changed', 'vfio_precopy_info.flags');
    expect([role.userspace.level, role.drivers.level]).toEqual(['compatible', 'needs-review']);
    expect(cs.filter((c) => c.severity === 'breaking')).toEqual([]);
    expect(exitCodeOf(cs)).toBe(11);
  });
});

describe('no change', () => {
  it('a spec against itself reports nothing', async () => {
    const a = await loadSide(resolveSide(ex('v7.0')), { docs: false });
    expect(diffSides(a, a).changes).toEqual([]);
    expect(diffIr(base, base)).toEqual([]);
    expect(exitCodeOf([])).toBe(0);
  });
});

describe('every kind of change', () => {
  it('struct layout changed (ABI break)', async () => {
    const s = struct(
      'vfio_device_feature_mig_state',
      { device_state: u32.enumOf(spec.vfio_device_mig_state), data_fd: aligned_u64 },
      { since: '5.18' },
    );
    const cs = diffIr(base, await variant({ vfio_device_feature_mig_state: s }));
    expect(only(cs, 'struct.field-type-changed', 'vfio_device_feature_mig_state.data_fd').severity).toBe('breaking');
    expect(only(cs, 'struct.field-offset-changed', 'vfio_device_feature_mig_state.data_fd').severity).toBe('breaking');
    expect(only(cs, 'struct.size-changed', 'vfio_device_feature_mig_state').severity).toBe('breaking');
  });

  it('struct grew within argsz: compatible when optional, breaking when minsz rises', async () => {
    const f = spec.vfio_precopy_info.fields;
    const grown = (minsz: string) =>
      struct('vfio_precopy_info', { ...f, extra_bytes: addedIn('7.2', aligned_u64.out()) }, { since: '6.2', minsz });
    let cs = diffIr(base, await variant({ vfio_precopy_info: grown('dirty_bytes') }));
    let c = only(cs, 'struct.field-added-within-argsz', 'vfio_precopy_info');
    expect([c.userspace.level, c.drivers.level]).toEqual(['compatible', 'compatible']);
    expect(find(cs, 'struct.size-changed')).toBeUndefined();
    cs = diffIr(base, await variant({ vfio_precopy_info: grown('extra_bytes') }));
    c = only(cs, 'struct.field-added-within-argsz', 'vfio_precopy_info');
    expect(c.userspace.level).toBe('breaking');
  });

  it('ioctl number changed, ioctl removed', async () => {
    const moved = ioctl('VFIO_MIG_GET_PRECOPY_INFO', {
      nr: 100 + 30,
      on: spec.MigrationDataFd,
      arg: byPointer(spec.vfio_precopy_info),
      since: '6.2',
    });
    expect(
      only(diffIr(base, await variant({ VFIO_MIG_GET_PRECOPY_INFO: moved })), 'ioctl.number-changed').severity,
    ).toBe('breaking');
    const noData = await variant({
      MIG_DATA_SIZE: removed(),
      dataSizeAnyState: removed(),
      dataSizeMandatory: removed(),
    });
    const c = only(diffIr(base, noData), 'feature.removed', 'VFIO_DEVICE_FEATURE_MIG_DATA_SIZE');
    expect([c.userspace.level, c.drivers.level]).toEqual(['breaking', 'compatible']);
    expect(only(diffIr(noData, base), 'feature.added').severity).toBe('compatible');
  });

  it('state, arc and capability added or removed', async () => {
    const f = spec.migration;
    const noP2pArc = migrationWith({
      arcs: [
        ...f.arcs.filter((a) => !(a.from === 'RUNNING_P2P' && a.to === 'RUNNING')),
        arc('RESUMING', 'RUNNING', { unless: ['P2P'] }),
      ],
      forbidden: [...f.forbidden.slice(1), forbid('RESUMING', 'STOP_COPY')],
    });
    const cs = diffIr(base, await variant({ migration: noP2pArc }));
    const gone = only(cs, 'fsm.arc-removed', 'RUNNING_P2P->RUNNING');
    expect(gone.drivers.level).toBe('compatible');
    expect(only(cs, 'fsm.arc-added', 'RESUMING->RUNNING').drivers.level).toBe('breaking');
    expect(only(cs, 'fsm.forbidden-added', 'RESUMING->STOP_COPY').userspace.level).toBe('breaking');
    // Dropping the ban for every device changes what existing PRE_COPY devices do for STOP_COPY → PRE_COPY:
    // the request they refused now ends the live saving fd and opens a new one.
    const lifted = only(cs, 'fsm.forbidden-removed', 'STOP_COPY->PRE_COPY');
    expect(lifted.userspace.level).toBe('breaking');
    expect(lifted.details).toContain(
      'STOP_COPY+PRE_COPY: STOP_COPY → PRE_COPY: refused  ⇒  STOP → RUNNING → PRE_COPY (STOP_COPY → STOP ends the data fd; RUNNING → PRE_COPY opens a new saving fd)',
    );
    expect(only(cs, 'fsm.path-changed').details!.length).toBeGreaterThan(0);

    // A state and a capability, both directions (the 6.1 projection has neither PRE_COPY).
    const v61 = await variant({ uapiRevision: { kind: 'revision', label: '6.1', asOf: '6.1' } });
    expect(only(diffIr(base, v61), 'state.removed', 'PRE_COPY').severity).toBe('breaking');
    expect(only(diffIr(base, v61), 'capability.removed', 'PRE_COPY').severity).toBe('breaking');
    expect(only(diffIr(v61, base), 'state.added', 'PRE_COPY').severity).toBe('compatible');
    expect(only(diffIr(v61, base), 'capability.added', 'PRE_COPY').severity).toBe('compatible');
  });

  it('a state every driver must implement is breaking for drivers', async () => {
    const states = enumeration(
      'vfio_device_mig_state',
      {
        ...Object.fromEntries(
          Object.entries(spec.vfio_device_mig_state.members).map(([k, m]) => [k, { value: m.value, since: m.since }]),
        ),
        PAUSED: { value: 9, since: '7.2' },
      },
      { prefix: 'VFIO_DEVICE_STATE_', since: '5.18' },
    );
    const f = spec.migration;
    const m = migrationWith({
      states,
      requires: { ...f.requires, PAUSED: ['STOP_COPY'] },
      arcs: [...f.arcs, arc('STOP', 'PAUSED'), arc('PAUSED', 'STOP')],
    });
    const c = only(
      diffIr(base, await variant({ vfio_device_mig_state: states, migration: m })),
      'state.added',
      'PAUSED',
    );
    expect([c.userspace.level, c.drivers.level]).toEqual(['needs-review', 'breaking']);
  });

  it('valid in fewer or more states; errno changed; made mandatory or optional', async () => {
    const validity = (validIn: string[] | 'any', otherwise = 'EINVAL') =>
      rule('data_size.any_state', {
        since: '6.2',
        kind: 'state-validity',
        op: 'VFIO_DEVICE_FEATURE_MIG_DATA_SIZE:GET',
        on: spec.Device,
        validIn,
        otherwise,
      });
    let cs = diffIr(base, await variant({ dataSizeAnyState: validity(['STOP', 'RUNNING']) }));
    const n = only(cs, 'rule.valid-states-narrowed', 'data_size.any_state');
    expect([n.userspace.level, n.drivers.level]).toEqual(['breaking', 'breaking']);
    expect(n.message).toMatch(/STOP_COPY/);
    const narrowedIr = await variant({ dataSizeAnyState: validity(['STOP', 'RUNNING']) });
    const w = only(diffIr(narrowedIr, base), 'rule.valid-states-widened');
    expect([w.userspace.level, w.drivers.level]).toEqual(['compatible', 'breaking']);
    cs = diffIr(narrowedIr, await variant({ dataSizeAnyState: validity(['STOP', 'RUNNING'], 'ENOTTY') }));
    expect(only(cs, 'rule.errno-changed', 'data_size.any_state').severity).toBe('needs-review');
    const should = rule('precopy.mandatory', {
      since: '6.2',
      strength: 'should',
      kind: 'capability',
      ifCaps: ['PRE_COPY'],
      requiresOp: 'VFIO_MIG_GET_PRECOPY_INFO',
    });
    const optional = await variant({ precopyMandatory: should });
    const mm = only(diffIr(optional, base), 'rule.made-mandatory', 'precopy.mandatory');
    expect([mm.userspace.level, mm.drivers.level]).toEqual(['compatible', 'breaking']);
    expect(only(diffIr(base, optional), 'rule.made-optional').userspace.level).toBe('breaking');
    const errno = rule('precopy.args.argsz', {
      since: '6.2',
      kind: 'errno',
      op: 'VFIO_MIG_GET_PRECOPY_INFO',
      on: spec.MigrationDataFd,
      condition: 'argsz < 24',
      errno: 'EFAULT',
    });
    expect(
      only(diffIr(base, await variant({ precopyArgsz: errno })), 'rule.errno-changed', 'precopy.args.argsz').severity,
    ).toBe('needs-review');
  });

  it('since changed; doc-only change', async () => {
    const f = feature(9, 'MIG_DATA_SIZE', {
      ops: ['GET'],
      payload: spec.vfio_device_feature_mig_data_size,
      minsz: 8,
      handler: 'core',
      needs: 'migration',
      since: '6.3',
      doc: 'Another text.',
    });
    const cs = diffIr(base, await variant({ MIG_DATA_SIZE: f }));
    const s = only(cs, 'item.since-changed', 'VFIO_DEVICE_FEATURE_MIG_DATA_SIZE');
    expect([s.userspace.level, s.drivers.level]).toEqual(['needs-review', 'compatible']);
    const d = only(cs, 'item.doc-changed', 'VFIO_DEVICE_FEATURE_MIG_DATA_SIZE');
    expect(d.severity).toBe('compatible');
    expect(exitCodeOf([d])).toBe(10);
  });

  it('flag bits and enum values', async () => {
    const fl = flags(
      'vfio_precopy_info_flags',
      { REINIT: bit(0), MORE: bit(1) },
      { prefix: 'VFIO_PRECOPY_INFO_', since: '7.1' },
    );
    expect(only(diffIr(base, await variant({ vfio_precopy_info_flags: fl })), 'flags.bit-added').severity).toBe(
      'compatible',
    );
    const moved = flags('vfio_precopy_info_flags', { REINIT: bit(1) }, { prefix: 'VFIO_PRECOPY_INFO_', since: '7.1' });
    expect(only(diffIr(base, await variant({ vfio_precopy_info_flags: moved })), 'flags.value-changed').severity).toBe(
      'breaking',
    );
    void u32;
  });
});

describe('allow-list', () => {
  it('parses lines, requires a reason, globs, reports stale entries', () => {
    expect(() => parseAllowList('rule.x item\n', 'a.txt')).toThrow(/reason/);
    const e = parseAllowList(
      '# c\nrule.valid-states-* precopy.* agreed on list\nfsm.arc-removed X->Y never matches\n',
      'a.txt',
    );
    const c: Change = {
      rule: 'rule.valid-states-narrowed',
      item: 'precopy.valid_states',
      message: '',
      userspace: { level: 'breaking', why: '' },
      drivers: { level: 'breaking', why: '' },
      severity: 'breaking',
    };
    const stale = applyAllowList([c], e);
    expect(c.allowed?.reason).toBe('agreed on list');
    expect(c.allowed?.at).toBe('a.txt:2');
    expect(stale.map((s) => s.at)).toEqual(['a.txt:3']);
    expect(exitCodeOf([c])).toBe(10);
  });
});

describe('git revisions and the CLI', () => {
  it('HEAD against HEAD reports nothing; a revision path and a working-tree spec load', async () => {
    const h = resolveSide('HEAD');
    expect(h.commit).toMatch(/^[0-9a-f]{40}$/);
    const a = await loadSide(h, { docs: false });
    expect(diffSides(a, a).changes).toEqual([]);
    expect(a.ir.fsm.states).toContain('PRE_COPY');
    expect(() => resolveSide('no-such-rev-or-path')).toThrow(/neither/);
  });

  it('a revision whose spec is known to differ (the commit before the spec existed has none)', () => {
    const first = execFileSync('git', ['rev-list', '--max-parents=0', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' })
      .trim()
      .split('\n')[0]!;
    expect(() => resolveSide(first)).toThrow(/no spec\/|has no/);
  });

  it('renders text, markdown with the FSM diagrams, and JSON; the CLI exits 20 on the 2022 review', async () => {
    const a = await loadSide(resolveSide(ex('v6.1')), { docs: false });
    const b = await loadSide(resolveSide(ex('v6.2')), { docs: false });
    const r = diffSides(a, b);
    expect(renderText(r)).toMatch(/\[state\.added\] PRE_COPY/);
    expect(renderMarkdown(r)).toMatch(/```mermaid\nstateDiagram-v2/);
    expect(JSON.parse(renderJson(r)).summary.exitCode).toBe(11);
    let code = 0;
    try {
      execFileSync(
        'node',
        ['packages/vfio-uapi/bin/vfio-uapi.js', 'diff', ex('rfc-2022'), ex('v6.2'), '--no-docs', '--json'],
        {
          cwd: REPO_ROOT,
          stdio: 'pipe',
        },
      );
    } catch (e) {
      code = (e as { status: number }).status;
    }
    expect(code).toBe(20);
  });
});
