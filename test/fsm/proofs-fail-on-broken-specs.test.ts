import { beforeAll, describe, expect, it } from 'vitest';
import * as spec from '../../spec/vfio/index.js';
import { arc, type Arc } from '../../spec/dsl/index.js';
import { irFromExports } from '../../generator/ir/load.js';
import { formatFailure, prove, proveOrThrow } from '../../generator/check/prove.js';
import type { Ir } from '../../generator/ir/types.js';
import { migrationWith } from './migration-with.js';

/** The spec's exports with the state machine rebuilt from its own parts, some of them replaced. */
function variant(change: { arcs?: (arcs: readonly Arc[]) => Arc[]; endpointOnly?: string[] }) {
  const migration = migrationWith({
    ...(change.endpointOnly ? { endpointOnly: change.endpointOnly } : {}),
    ...(change.arcs ? { arcs: change.arcs(spec.migration.arcs) } : {}),
  });
  return irFromExports({ ...spec, migration }, { docs: false });
}

const properties = (ir: Ir) => [...new Set(prove(ir).map((f) => f.property))].sort();

describe('the state-machine proofs', () => {
  it('hold for the spec as written', async () => {
    const ir = await variant({});
    expect(prove(ir).map(formatFailure)).toEqual([]);
  });

  it('fail "reachable" (and name caps, request, path) when RUNNING_P2P → STOP is removed', async () => {
    const ir = await variant({ arcs: (a) => a.filter((x) => !(x.from === 'RUNNING_P2P' && x.to === 'STOP')) });
    const failures = prove(ir);
    expect(properties(ir)).toContain('reachable');
    const f = failures.find((x) => x.property === 'reachable' && x.request === 'RUNNING->STOP')!;
    expect(f.caps).toBe('STOP_COPY+P2P');
    expect(formatFailure(f)).toBe(
      '[reachable] caps STOP_COPY+P2P, request RUNNING->STOP: STOP cannot be reached from RUNNING (path refused)',
    );
    expect(() => proveOrThrow(ir)).toThrow(/\[reachable\] caps STOP_COPY\+P2P, request RUNNING->STOP/);
    // The P2P states lose no arc, so the non-P2P capability sets still pass.
    expect(failures.filter((x) => x.property === 'reachable').map((x) => x.caps)).not.toContain('STOP_COPY');
  });

  it('fail "required-arcs" when an arc exists that no request uses', async () => {
    // A request never needs an arc from a state to itself.
    const ir = await variant({ arcs: (a) => [...a, arc('RUNNING', 'RUNNING', {})] });
    expect(prove(ir).find((f) => f.property === 'required-arcs')?.request).toBe('RUNNING->RUNNING');
  });

  it('fail "endpoint-only" when STOP_COPY is made interior (dropped from endpointOnly, given an arc out)', async () => {
    const ir = await variant({
      endpointOnly: ['PRE_COPY'],
      arcs: (a) => [...a, arc('STOP_COPY', 'RESUMING', { fd: 'opens-resuming' })],
    });
    const failures = prove(ir);
    const f = failures.find((x) => x.property === 'endpoint-only' && x.caps === 'STOP_COPY+PRE_COPY')!;
    expect(formatFailure(f)).toBe(
      '[endpoint-only] caps STOP_COPY+PRE_COPY, request PRE_COPY->RESUMING: STOP_COPY holds a data session and is passed through, but the rest of the path does not carry that session on (path STOP_COPY → RESUMING)',
    );
    // The arc itself leaves the saving session dangling.
    expect(properties(ir)).toContain('fd-session');
  });

  it('fail "forbidden" when an arc closes the cycle PRE_COPY → STOP_COPY → PRE_COPY', async () => {
    const ir = await variant({
      arcs: (a) => [...a, arc('STOP_COPY', 'PRE_COPY', { when: ['PRE_COPY'], fd: 'keeps' })],
    });
    const f = prove(ir).filter((x) => x.property === 'forbidden');
    expect(f.map((x) => `${x.caps} ${x.request}`)).toEqual([
      'STOP_COPY+PRE_COPY STOP_COPY->PRE_COPY',
      'STOP_COPY+P2P+PRE_COPY STOP_COPY->PRE_COPY',
    ]);
  });

  it('fail "terminates" when the step table cycles', async () => {
    // Shortest paths cannot cycle (the remaining distance drops with every step), so break the table itself,
    // as a hand-written or mis-derived one would be.
    const ir = await variant({});
    const next = ir.fsm.next['STOP_COPY+P2P']!;
    next['RUNNING_P2P']!['STOP'] = 'RUNNING';
    const f = prove(ir).find((x) => x.property === 'terminates')!;
    expect(formatFailure(f)).toBe(
      '[terminates] caps STOP_COPY+P2P, request RUNNING->STOP: stepping with next[] cycles: RUNNING → RUNNING_P2P → RUNNING (path RUNNING_P2P → RUNNING)',
    );
  });

  it('fail "step-table", "arc-exists", "interior-fd" and "shortest" on tampered paths', async () => {
    const ir = await variant({});
    const p = ir.fsm.paths['STOP_COPY+P2P']!;
    p['RUNNING']!['STOP_COPY'] = ['RUNNING_P2P', 'STOP', 'RESUMING', 'STOP', 'STOP_COPY'];
    p['STOP']!['RUNNING'] = ['RUNNING'];
    const props = properties(ir);
    for (const want of ['step-table', 'arc-exists', 'interior-fd', 'shortest']) expect(props).toContain(want);
  });

  it('fail "fd-session" when an arc ends a session in a state that has none', async () => {
    const ir = await variant({ arcs: (a) => [...a, arc('RUNNING_P2P', 'RESUMING', { when: ['P2P'], fd: 'ends' })] });
    expect(prove(ir).find((x) => x.property === 'fd-session')?.request).toBe('RUNNING_P2P->RESUMING');
  });
});

describe('capability sets outside the four', () => {
  let ir: Ir;
  beforeAll(async () => {
    ir = await variant({});
  });
  it('are rejected by the generated capsKeyFromFlags', async () => {
    const { capsKeyFromFlags } = await import('../../generated/fsm.js');
    expect([1, 3, 5, 7].map((f) => capsKeyFromFlags(f))).toEqual(ir.fsm.capabilitySets);
    for (const f of [0, 2, 4, 6, 8, 15]) expect(() => capsKeyFromFlags(f)).toThrow(RangeError);
    expect(() => capsKeyFromFlags(2)).toThrow(/P2P are not a combination the uAPI defines/);
    expect(capsKeyFromFlags(7n)).toBe('STOP_COPY+P2P+PRE_COPY');
  });
});
