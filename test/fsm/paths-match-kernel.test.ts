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
