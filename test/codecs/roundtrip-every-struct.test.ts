import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import * as codecs from '../../generated/codecs.js';
import { loadSpec } from '../../generator/ir/load.js';
import type { Ir } from '../../generator/ir/types.js';
import { pascal } from '../../generator/emit/shared/naming.js';
import { arbitraryStruct, encodedSize } from './arbitrary.js';

let ir: Ir;
beforeAll(async () => {
  ir = await loadSpec(undefined, { docs: false });
});

const fns = codecs as unknown as Record<string, (...a: unknown[]) => unknown>;

describe('encode then decode gives back the value, for every struct', () => {
  it('round-trips random values including 64-bit extremes', () => {
    for (const [name, s] of Object.entries(ir.structs)) {
      const encode = fns[`encode${pascal(name)}`]!;
      const decode = fns[`decode${pascal(name)}`]!;
      fc.assert(
        fc.property(arbitraryStruct(s, ir), (value) => {
          const buf = new ArrayBuffer(encodedSize(s, value, ir));
          const view = new DataView(buf);
          encode(value, view, 0);
          const back = decode(view, 0) as Record<string, unknown>;
          // A decoded union carries every member; the value set only one, so compare as a subset.
          expect([name, back]).toMatchObject([name, value]);
        }),
        { numRuns: 25 },
      );
    }
  });

  it('writes at the given offset and little-endian', () => {
    const view = new DataView(new ArrayBuffer(40));
    codecs.encodeVfioPrecopyInfo(
      { argsz: 24, flags: 1, initial_bytes: 0x0102030405060708n, dirty_bytes: 2n ** 64n - 1n },
      view,
      8,
    );
    expect(view.getUint32(8, true)).toBe(24);
    expect(view.getUint8(16)).toBe(0x08);
    expect(view.getBigUint64(24, true)).toBe(2n ** 64n - 1n);
    expect(codecs.decodeVfioPrecopyInfo(view, 8).initial_bytes).toBe(0x0102030405060708n);
  });
});

describe('values out of range are rejected before anything is written', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    [
      'u64 above 2^64-1',
      { argsz: 24, flags: 0, initial_bytes: 2n ** 64n, dirty_bytes: 0n },
      /initial_bytes: not a valid u64/,
    ],
    ['negative u64', { argsz: 24, flags: 0, initial_bytes: -1n, dirty_bytes: 0n }, /initial_bytes: not a valid u64/],
    ['number where a bigint belongs', { argsz: 24, flags: 0, initial_bytes: 5, dirty_bytes: 0n }, /not a valid u64/],
    [
      'u32 above 2^32-1',
      { argsz: 2 ** 32 + 5, flags: 0, initial_bytes: 0n, dirty_bytes: 0n },
      /argsz: not a valid u32/,
    ],
    ['fractional u32', { argsz: 1.5, flags: 0, initial_bytes: 0n, dirty_bytes: 0n }, /argsz: not a valid u32/],
  ];
  for (const [what, value, message] of cases) {
    it(what, () => {
      const view = new DataView(new ArrayBuffer(24));
      expect(() => codecs.encodeVfioPrecopyInfo(value as never, view)).toThrow(codecs.CodecError);
      expect(() => codecs.encodeVfioPrecopyInfo(value as never, view)).toThrow(message);
    });
  }

  it('rejects an s32 fd below -2^31', () => {
    expect(() =>
      codecs.encodeVfioDeviceFeatureMigState(
        { device_state: 2, data_fd: -(2 ** 31) - 1 },
        new DataView(new ArrayBuffer(8)),
      ),
    ).toThrow(/data_fd: not a valid s32/);
  });

  it('refuses to decode a counted flexible array that does not fit', () => {
    const view = new DataView(new ArrayBuffer(16));
    view.setUint32(12, 3, true); // nr_ranges = 3, but no room for ranges
    expect(() => codecs.decodeVfioDeviceFeatureDmaBuf(view, 0)).toThrow(/dma_ranges: 3 element\(s\) do not fit/);
  });
});
