import { beforeAll, describe, expect, it } from 'vitest';
import { loadSpec } from '../../generator/ir/load.js';
import type { Ir } from '../../generator/ir/types.js';
import { referenceJson } from '../reference.js';

let ir: Ir;
const ref = referenceJson();
beforeAll(async () => {
  ir = await loadSpec(undefined, { docs: false });
});

/** The reference writes capability sets as `STOP_COPY|P2P`; the IR as `STOP_COPY+P2P`. */
const refKey = (caps: string) => caps.replaceAll('+', '|');

describe('derived paths equal the kernel for all 4 capability sets × 64 requests', () => {
  it('agrees on every request where the kernel answers cleanly', () => {
    let compared = 0;
    for (const caps of ir.fsm.capabilitySets) {
      const table = ref.fsm_paths_by_flags[refKey(caps)];
      expect(table, `reference lacks ${caps}`).toBeDefined();
      for (const from of ir.fsm.states) {
        for (const to of ir.fsm.states) {
          const mine = ir.fsm.paths[caps]![from]![to];
          const kernel = table[from]?.[to];
          if (kernel === undefined) {
            // The reference lists only states the device can be in; those rows are refusals here.
            expect([caps, from, to, mine]).toEqual([caps, from, to, null]);
          } else if (typeof kernel === 'string' && kernel.startsWith('KERNEL_LOOP')) {
            expect([caps, from, to, mine]).toEqual([caps, from, to, null]);
          } else if (kernel === 'EINVAL') {
            expect([caps, from, to, mine]).toEqual([caps, from, to, null]);
          } else {
            expect([caps, from, to, mine]).toEqual([caps, from, to, kernel]);
          }
          compared++;
        }
      }
    }
    expect(compared).toBe(256);
  });
});

describe("derived next steps equal the kernel's table run by the kernel's algorithm", () => {
  it('gives, for every capability set and request, the same first step (fsm_next + state_requires)', async () => {
    const { fsmFacts, runKernelRequest } = await import('../../generator/fsm/kernel-table.js');
    const facts = fsmFacts(ir);
    const table = { requires: { ...ref.state_requires, ERROR: 'ALL' as const }, next: ref.fsm_next };
    let compared = 0;
    let loops = 0;
    for (const caps of ir.fsm.capabilitySets) {
      for (const from of ir.fsm.states) {
        if (ir.fsm.paths[caps]![from]![from] === null) continue; // a state this device cannot be in
        for (const to of ir.fsm.states) {
          const o = runKernelRequest(table, facts.flagBits, ir.fsm.error, caps.split('+'), from, to);
          const mine = ir.fsm.next[caps]![from]![to];
          if (o.kind === 'loop') {
            loops++;
            expect([caps, from, to, mine]).toEqual([caps, from, to, null]);
          } else if (o.kind === 'refused') expect([caps, from, to, mine]).toEqual([caps, from, to, null]);
          else {
            expect([caps, from, to, mine]).toEqual([caps, from, to, o.path[0] ?? from]);
            expect([caps, from, to, ir.fsm.paths[caps]![from]![to]]).toEqual([caps, from, to, o.path]);
          }
          compared++;
        }
      }
    }
    expect(compared).toBe(8 * (4 + 5 + 5 + 7));
    expect(loops).toBe(3);
  });
});
