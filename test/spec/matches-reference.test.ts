import { beforeAll, describe, expect, it } from 'vitest';
import { loadSpec } from '../../generator/ir/load.js';
import type { Ir } from '../../generator/ir/types.js';
import { referenceJson } from '../reference.js';

let ir: Ir;
const ref = referenceJson();
beforeAll(async () => {
  ir = await loadSpec(undefined, { docs: false });
});

describe('the IR equals the reference fact sheet', () => {
  it('covers every struct of the reference with the same size, alignment and offsets', () => {
    for (const [name, s] of Object.entries<any>(ref.structs)) {
      const mine = ir.structs[name];
      expect(mine, `struct ${name} missing from the spec`).toBeDefined();
      expect([name, mine!.size, mine!.align]).toEqual([name, s.size, s.align]);
      // The reference names an anonymous union by its first member.
      const offsets = Object.fromEntries(mine!.fields.map((f) => [f.name, f.offset]));
      for (const f of s.fields) expect([name, f.name, offsets[f.name]]).toEqual([name, f.name, f.offset]);
      if (s.i386) {
        expect([name, mine!.i386.size, mine!.i386.align]).toEqual([name, s.i386.size, s.i386.align]);
        expect(Object.values(mine!.i386.offsets)).toEqual(s.i386.offsets);
      }
    }
  });

  it('covers every ioctl of the reference with the same number and fd kind family', () => {
    for (const [name, i] of Object.entries<any>(ref.ioctls)) {
      const mine = ir.ioctls[name];
      expect(mine, `ioctl ${name} missing from the spec`).toBeDefined();
      expect([name, mine!.number]).toEqual([name, Number(i.nr)]);
    }
  });

  it('encodes bit 29 for the powerpc/mips _IO numbers (CHECK_EXTENSION = 0x20003B65)', () => {
    expect(ir.ioctls.VFIO_CHECK_EXTENSION!.numberByArch.powerpc).toBe(0x20003b65);
    expect(ir.ioctls.VFIO_CHECK_EXTENSION!.numberByArch.generic).toBe(0x3b65);
  });

  it('covers every device feature index of the fact sheet (13 is ZPCI_ERROR since 7.3), with ops and minimum sizes', () => {
    for (const [index, f] of Object.entries<any>(ref.device_features)) {
      const mine = ir.features[f.name];
      expect(mine, `feature ${f.name} missing`).toBeDefined();
      expect([f.name, mine!.index, [...mine!.ops].sort()]).toEqual([f.name, Number(index), [...f.ops].sort()]);
      if (f.minsz !== undefined) expect([f.name, mine!.minsz]).toEqual([f.name, f.minsz]);
      if (typeof f.payload === 'string' && /^vfio_\w+$/.test(f.payload)) expect(mine!.payload).toBe(f.payload);
    }
    expect(Object.values(ir.features).filter((f) => f.index === 13)).toMatchObject([
      { short: 'ZPCI_ERROR', since: '7.3', ops: ['GET'] },
    ]);
  });

  it('has every constant of the reference with the same value', () => {
    for (const [name, value] of Object.entries<any>(ref.constants)) {
      expect([name, ir.constants[name]]).toEqual([name, value]);
    }
  });

  it('has the eight states and NR with the reference values', () => {
    expect(ir.states).toEqual(ref.states);
  });

  it('requires the same capability flags per state', () => {
    for (const [state, req] of Object.entries<any>(ref.state_requires)) {
      if (state === 'ERROR') expect(ir.fsm.requires.ERROR).toBeNull();
      else expect([state, ir.fsm.requires[state]]).toEqual([state, req]);
    }
  });
});
