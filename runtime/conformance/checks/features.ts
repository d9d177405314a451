/** PROBE of every migration feature the device should have: answers 0 and leaves the payload alone. */
import { PROBE, GET, SET } from '../raw-device.js';
import type { Check } from './check.js';

export const featureProbe: Check = {
  rule: 'feature.probe',
  run(ctx) {
    ctx.reach(ctx.spec.fsm.initial);
    const wanted = Object.entries(ctx.spec.features).filter(
      ([, f]) =>
        (f.needs === 'migration' && ctx.facts.migrationFlags !== null) ||
        (f.needs === 'dma_logging' && ctx.facts.dmaLogging),
    );
    if (!wanted.length) ctx.skip('the device has no migration or logging features');
    for (const [, f] of wanted)
      for (const op of f.ops) {
        const payload = Buffer.alloc(16, 0x5a);
        const { result, buf } = ctx.raw.feature({
          index: f.index,
          bits: PROBE | (op === 'GET' ? GET : SET),
          argsz: 8,
          payload,
          label: `PROBE|${op} ${f.short}`,
        });
        if (!ctx.expectOutcome(`PROBE|${op} ${f.short} with argsz 8`, 'success', result)) {
          if (f.short === 'MIG_DATA_SIZE') ctx.note('MIG_DATA_SIZE is missing (see data_size.mandatory)');
          continue;
        }
        ctx.expect(
          `payload after PROBE|${op} ${f.short}`,
          'untouched',
          buf.subarray(8).every((b) => b === 0x5a) ? 'untouched' : 'written',
        );
      }
  },
};
