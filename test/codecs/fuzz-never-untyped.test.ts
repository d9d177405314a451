import { describe, expect, it } from 'vitest';
import { fuzzStructs } from '../../bench/fuzz-targets.js';

// A modest count here; `npm run fuzz` runs at least 100k inputs per struct.
describe('random bytes and random values never produce an untyped exception', () => {
  it('holds for every decoder, encoder and validator', async () => {
    const report = await fuzzStructs(300, 1);
    for (const r of report) expect([r.struct, r.untyped]).toEqual([r.struct, []]);
    expect(report.length).toBeGreaterThan(30);
  });
});
