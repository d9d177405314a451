import fc from 'fast-check';
import * as codecs from '../generated/codecs.js';
import * as validators from '../generated/validators.js';
import { loadSpec } from '../generator/ir/load.js';
import { pascal } from '../generator/emit/shared/naming.js';
import { arbitraryOf } from '../test/codecs/arbitrary.js';
import type { IrStruct, Ir } from '../generator/ir/types.js';

export interface FuzzReport {
  struct: string;
  inputs: number;
  typedErrors: number;
  /** Messages of exceptions that were not CodecError (should stay empty). */
  untyped: string[];
}

const fns = { ...codecs, ...validators } as unknown as Record<string, (...a: unknown[]) => unknown>;

/** Values shaped like the struct whose scalars may be anything: out of range, wrong type, missing. */
function wildValue(s: IrStruct, ir: Ir): fc.Arbitrary<Record<string, unknown>> {
  const wild = fc.oneof(fc.integer(), fc.bigInt(), fc.double(), fc.string(), fc.constant(undefined), fc.constant(null));
  return fc.record(Object.fromEntries(s.fields.map((f) => [f.name, fc.oneof(arbitraryOf(f.ir, ir), wild)])));
}

function attempt(r: FuzzReport, f: () => unknown): unknown {
  try {
    return f();
  } catch (e) {
    if (e instanceof codecs.CodecError) r.typedErrors++;
    else if (r.untyped.length < 5) r.untyped.push(`${(e as Error).name}: ${(e as Error).message}`);
    return undefined;
  }
}

/**
 * Feed random bytes to every decoder (and the validator with what decodes), and random values to every
 * encoder. Only CodecError may escape; anything else is recorded as untyped.
 */
export async function fuzzStructs(runsPerStruct: number, seed: number): Promise<FuzzReport[]> {
  const ir = await loadSpec(undefined, { docs: false });
  const out: FuzzReport[] = [];
  for (const [name, s] of Object.entries(ir.structs)) {
    const P = pascal(name);
    const decode = fns[`decode${P}`]!;
    const encode = fns[`encode${P}`]!;
    const validate = fns[`validate${P}`]!;
    const r: FuzzReport = { struct: name, inputs: 0, typedErrors: 0, untyped: [] };
    const bytes = fc.uint8Array({ maxLength: s.size * 2 + 16 });
    fc.assert(
      fc.property(bytes, fc.nat(8), (b, offset) => {
        r.inputs++;
        const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
        const v = attempt(r, () => decode(view, offset));
        if (v) attempt(r, () => validate(v));
      }),
      { numRuns: runsPerStruct, seed },
    );
    fc.assert(
      fc.property(wildValue(s, ir), (v) => {
        r.inputs++;
        const view = new DataView(new ArrayBuffer(s.size + 64));
        attempt(r, () => encode(v, view, 0));
      }),
      { numRuns: runsPerStruct, seed },
    );
    out.push(r);
  }
  return out;
}
