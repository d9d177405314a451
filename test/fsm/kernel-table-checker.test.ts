import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSpec, REPO_ROOT } from '../../generator/ir/load.js';
import {
  checkKernelTable,
  deriveKernelTable,
  fsmFacts,
  parseKernelTable,
  type FsmFacts,
  type KernelTable,
} from '../../generator/fsm/kernel-table.js';
import { referenceJson } from '../reference.js';

let facts: FsmFacts;
const ref = referenceJson();
const read = (p: string) => parseKernelTable(JSON.parse(readFileSync(join(REPO_ROOT, p), 'utf8')));
beforeAll(async () => {
  facts = fsmFacts(await loadSpec(undefined, { docs: false }));
});

/** The kernel's published table, straight from the reference JSON (ERROR requires all bits). */
const kernelTable = (): KernelTable => ({
  requires: { ...ref.state_requires, ERROR: 'ALL' },
  next: ref.fsm_next,
});

describe('kernel-table checker', () => {
  it("finds the endless loop for STOP_COPY→PRE_COPY(_P2P) on PRE_COPY devices in the kernel's table, and nothing else", () => {
    const findings = checkKernelTable(facts, kernelTable());
    expect(findings.map((f) => `${f.problem} ${f.caps} ${f.request}`)).toEqual([
      'non-termination STOP_COPY+PRE_COPY STOP_COPY->PRE_COPY',
      'non-termination STOP_COPY+P2P+PRE_COPY STOP_COPY->PRE_COPY',
      'non-termination STOP_COPY+P2P+PRE_COPY STOP_COPY->PRE_COPY_P2P',
    ]);
    expect(findings[0]!.message).toMatch(
      /never returns: next\[STOP_COPY\]\[PRE_COPY\] = ERROR, next\[ERROR\]\[PRE_COPY\] = ERROR/,
    );
  });

  it("finds the same in the example's kernel-table.json (written from the reference facts)", () => {
    const example = read('examples/kernel-table-loop/kernel-table.json');
    expect(example.next).toEqual(ref.fsm_next);
    expect(checkKernelTable(facts, example).map((f) => f.request)).toEqual([
      'STOP_COPY->PRE_COPY',
      'STOP_COPY->PRE_COPY',
      'STOP_COPY->PRE_COPY_P2P',
    ]);
  });

  it('finds nothing in the generated table, which is what the derivation produces', () => {
    const generated = read('generated/fsm-kernel-table.json');
    expect(checkKernelTable(facts, generated)).toEqual([]);
    const d = deriveKernelTable(facts);
    expect(d.inexpressible).toEqual([]);
    expect(generated.next).toEqual(d.table.next);
    expect(generated.requires).toEqual(d.table.requires);
  });

  it("needs only ERROR's flags changed: the generated next[] is the kernel's cell for cell", () => {
    expect(read('generated/fsm-kernel-table.json').next).toEqual(ref.fsm_next);
  });

  it('shows why: with ERROR requiring all bits no single table can refuse the forbidden requests', () => {
    const generated = read('generated/fsm-kernel-table.json');
    const findings = checkKernelTable(facts, { ...generated, requires: { ...generated.requires, ERROR: 'ALL' } });
    const forbidden = facts.forbidden.map((f) => `${f.from}->${f.to}`);
    expect(findings.length).toBeGreaterThan(0);
    for (const f of findings) {
      expect(f.problem).toBe('non-termination');
      expect(forbidden).toContain(f.request);
    }
  });

  it('reports paths that differ, steps that are not arcs and interior saving states in a bad table', () => {
    const t = kernelTable();
    const next = JSON.parse(JSON.stringify(t.next)) as Record<string, Record<string, string>>;
    next['RUNNING']!['STOP'] = 'STOP_COPY'; // RUNNING → STOP_COPY is no arc; STOP_COPY then passed through
    const findings = checkKernelTable(facts, { ...t, next });
    const problems = new Set(findings.map((f) => f.problem));
    for (const p of ['path-differs', 'not-an-arc', 'interior-saving-state']) expect(problems).toContain(p);
    const f = findings.find(
      (x) => x.problem === 'path-differs' && x.caps === 'STOP_COPY' && x.request === 'RUNNING->STOP',
    )!;
    expect(f.path).toEqual(['STOP_COPY', 'STOP']);
    expect(f.expected).toEqual(['STOP']);
  });

  it('detects a cycle of steps (not only of skips)', () => {
    const t = kernelTable();
    const next = JSON.parse(JSON.stringify(t.next)) as Record<string, Record<string, string>>;
    next['STOP']!['RUNNING'] = 'RESUMING';
    next['RESUMING']!['RUNNING'] = 'STOP';
    const loops = checkKernelTable(facts, { ...t, next }).filter((f) => f.problem === 'non-termination');
    expect(loops.map((f) => `${f.caps} ${f.request}`)).toContain('STOP_COPY STOP->RUNNING');
    expect(loops[0]!.message).toMatch(/steps cycle/);
  });

  it('rejects tables that are not in the kernel format', () => {
    expect(() => parseKernelTable({ next: {} })).toThrow(/"requires"/);
    expect(checkKernelTable(facts, { requires: {}, next: {} })[0]!.problem).toBe('bad-table');
  });
});
