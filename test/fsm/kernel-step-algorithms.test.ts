/**
 * The kernel's step algorithm by version (before and after a26b499b757c), run over the kernel's own table
 * (a fixture with its source) and over tables broken on purpose, and the kernel fix recorded in the spec.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSpec, REPO_ROOT } from '../../generator/ir/load.js';
import type { Ir } from '../../generator/ir/types.js';
import {
  checkKernelTable,
  fsmFacts,
  parseKernelTable,
  runKernelRequest,
  STEP_ALGORITHMS,
  type FsmFacts,
  type KernelTable,
} from '../../generator/fsm/kernel-table.js';
import {
  behaviourOn,
  describeStepAlgorithm,
  fixStatus,
  parseRelease,
  stepAlgorithmOf,
} from '../../generator/fsm/kernel-fixes.js';

let ir: Ir;
let facts: FsmFacts;
const json = (p: string) => JSON.parse(readFileSync(join(REPO_ROOT, p), 'utf8')) as Record<string, unknown>;
/** The kernel's table (test/fixtures/kernel-facts/vfio-fsm-table.json says where it comes from). */
const kernel = (): KernelTable => parseKernelTable(json('test/fixtures/kernel-facts/vfio-fsm-table.json'), facts);
const withNext = (t: KernelTable, edits: [string, string, string][]): KernelTable => {
  const next = JSON.parse(JSON.stringify(t.next)) as Record<string, Record<string, string>>;
  for (const [from, to, n] of edits) next[from]![to] = n;
  return { ...t, next };
};
const summary = (fs: { problem: string; caps: string; request: string }[]) =>
  fs.map((f) => `${f.problem} ${f.caps} ${f.request}`);

beforeAll(async () => {
  ir = await loadSpec(undefined, { docs: false });
  facts = fsmFacts(ir);
});

describe("the kernel's table under each version of the step algorithm", () => {
  it('before a26b499b757c: the three blocked requests of PRE_COPY devices never return', () => {
    expect(summary(checkKernelTable(facts, kernel(), 'original'))).toEqual([
      'non-termination STOP_COPY+PRE_COPY STOP_COPY->PRE_COPY',
      'non-termination STOP_COPY+P2P+PRE_COPY STOP_COPY->PRE_COPY',
      'non-termination STOP_COPY+P2P+PRE_COPY STOP_COPY->PRE_COPY_P2P',
    ]);
  });

  it('since a26b499b757c: nothing — the blocked requests are refused with EINVAL, as the spec says', () => {
    expect(checkKernelTable(facts, kernel(), 'stops-at-error')).toEqual([]);
    const o = runKernelRequest(
      kernel(),
      facts.flagBits,
      'ERROR',
      ['STOP_COPY', 'PRE_COPY'],
      'STOP_COPY',
      'PRE_COPY',
      'stops-at-error',
    );
    expect(o).toEqual({ kind: 'refused', after: [], reason: 'the table answers ERROR' });
    expect(ir.fsm.paths['STOP_COPY+PRE_COPY']!['STOP_COPY']!['PRE_COPY']).toBeNull();
  });

  it("the example's table is the fixture's table, and the generated table passes under both algorithms", () => {
    const example = parseKernelTable(json('examples/kernel-table-loop/kernel-table.json'), facts);
    expect(example.next).toEqual(kernel().next);
    expect(example.requires).toEqual(kernel().requires);
    const generated = parseKernelTable(json('generated/fsm-kernel-table.json'), facts);
    for (const a of STEP_ALGORITHMS) expect(checkKernelTable(facts, generated, a)).toEqual([]);
  });

  it("a step to the current state is the driver's WARN and EINVAL, not a loop, in both versions", () => {
    // next[STOP][RUNNING] = STOP: the core would hand a STOP_COPY-only driver the step STOP → STOP.
    const t = withNext(kernel(), [['STOP', 'RUNNING', 'STOP']]);
    for (const a of STEP_ALGORITHMS) {
      const o = runKernelRequest(t, facts.flagBits, 'ERROR', ['STOP_COPY'], 'STOP', 'RUNNING', a);
      expect(o).toMatchObject({ kind: 'refused', by: 'driver', step: ['STOP', 'STOP'] });
      const f = checkKernelTable(facts, t, a).filter((x) => x.request === 'STOP->RUNNING');
      expect(f.map((x) => `${x.problem} ${x.caps}`)).toContain('driver-einval STOP_COPY');
      expect(f.some((x) => x.problem === 'non-termination')).toBe(false);
      expect(f.find((x) => x.caps === 'STOP_COPY')!.message).toMatch(
        /step STOP → STOP, an arc no driver implements; drivers WARN and return EINVAL, where the spec's path is RUNNING/,
      );
    }
  });

  it('real loops stay loops after the fix: a cycle of steps, and a skip cycle that avoids ERROR', () => {
    const steps = withNext(kernel(), [
      ['STOP', 'RUNNING', 'RESUMING'],
      ['RESUMING', 'RUNNING', 'STOP'],
    ]);
    const skips = withNext(kernel(), [
      // A STOP_COPY-only device skips RUNNING_P2P and PRE_COPY_P2P, and they point at each other.
      ['STOP', 'RUNNING', 'RUNNING_P2P'],
      ['RUNNING_P2P', 'RUNNING', 'PRE_COPY_P2P'],
      ['PRE_COPY_P2P', 'RUNNING', 'RUNNING_P2P'],
    ]);
    for (const t of [steps, skips]) {
      const loops = checkKernelTable(facts, t, 'stops-at-error').filter((f) => f.problem === 'non-termination');
      expect(summary(loops)).toContain('non-termination STOP_COPY STOP->RUNNING');
    }
  });

  it('every finding names the algorithm it was found with', () => {
    expect(new Set(checkKernelTable(facts, kernel(), 'original').map((f) => f.algorithm))).toEqual(
      new Set(['original']),
    );
  });
});

describe('the fix as spec data', () => {
  it('records a26b499b757c with its releases, its behaviours and the requests it concerns', () => {
    expect(ir.kernelFixes).toHaveLength(1);
    expect(ir.kernelFixes[0]).toMatchObject({
      id: 'blocked-arc-einval',
      commit: 'a26b499b757c',
      subject: 'vfio: prevent infinite loop in vfio_mig_get_next_state() on blocked arc',
      fixedIn: { mainline: '7.2', stable: ['6.12.96'] },
      fixes: { commit: '4db52602a607', release: '6.2' },
      before: 'hang',
      after: 'EINVAL',
      stepAlgorithm: 'skip-loop-stops-at-error',
      requests: ['STOP_COPY->PRE_COPY', 'STOP_COPY->PRE_COPY_P2P'],
    });
    expect(ir.fsm.forbidden.map((f) => f.kernelFix)).toEqual(['blocked-arc-einval', 'blocked-arc-einval']);
  });

  it('picks the behaviour by release: mainline from 7.2, 6.12 from 6.12.96, nothing before 6.2', () => {
    const fix = ir.kernelFixes[0]!;
    const cases: [string, string, string][] = [
      ['6.1.0', 'unaffected', 'unaffected'],
      ['6.2', 'affected', 'hang'],
      ['6.6.120', 'affected', 'hang'],
      ['6.12.95', 'affected', 'hang'],
      ['6.12.95+bpo-amd64', 'affected', 'hang'],
      ['6.12.96', 'fixed', 'EINVAL'],
      ['6.12.96+deb13-amd64', 'fixed', 'EINVAL'],
      ['6.12.117', 'fixed', 'EINVAL'],
      ['7.1.3', 'affected', 'hang'],
      ['7.2-rc1', 'fixed', 'EINVAL'],
      ['7.2.13', 'fixed', 'EINVAL'],
      ['7.3.4+deb13-amd64', 'fixed', 'EINVAL'],
      ['8.0', 'fixed', 'EINVAL'],
    ];
    for (const [release, status, behaviour] of cases) {
      expect([release, fixStatus(fix, release)]).toEqual([release, status]);
      expect([release, behaviourOn(fix, release)]).toEqual([release, behaviour]);
    }
    expect(stepAlgorithmOf(ir.kernelFixes, '6.12.95')).toBe('original');
    expect(stepAlgorithmOf(ir.kernelFixes, '6.12.96')).toBe('stops-at-error');
    expect(() => fixStatus(fix, 'linux')).toThrow(/not a kernel release/);
    expect(parseRelease('v7.3.4')).toEqual([7, 3, 4]);
    expect(describeStepAlgorithm(ir.kernelFixes, 'original')).toBe(
      'the step algorithm before a26b499b757c (6.2 to 7.1, except 6.12.96 and later in 6.12)',
    );
  });

  it('the generated state-machine doc states both behaviours by release', () => {
    const doc = readFileSync(join(REPO_ROOT, 'generated/docs/state-machine.md'), 'utf8');
    expect(doc).toMatch(
      /\| STOP_COPY \| PRE_COPY \| every device \| EINVAL \| hang on 6\.2 to 7\.1, except 6\.12\.96 and later in 6\.12; EINVAL on 7\.2 and later, 6\.12\.96 and later in 6\.12 \(a26b499b757c/,
    );
  });
});
