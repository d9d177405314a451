/**
 * PROBE of every migration feature the device should have: answers 0 and leaves the payload alone. On a device
 * without migration, PROBE of the migration features must not claim them: it answers their `missing` errno.
 */
import type { CheckContext } from '../context.js';
import { PROBE, GET, SET } from '../raw-device.js';
import type { Check } from './check.js';

function probeOfAbsentMigration(ctx: CheckContext): void {
  for (const f of Object.values(ctx.spec.features).filter((x) => x.needs === 'migration'))
    for (const op of f.ops) {
      const { result } = ctx.raw.feature({
        index: f.index,
        bits: PROBE | (op === 'GET' ? GET : SET),
        argsz: 8,
        label: `PROBE|${op} ${f.short}`,
      });
      ctx.expectOutcome(`PROBE|${op} ${f.short} on a device without migration`, f.missing, result);
    }
}

export const featureProbe: Check = {
  rule: 'feature.probe',
  run(ctx) {
    ctx.resetToStart();
    if (ctx.facts.migrationFlags === null) probeOfAbsentMigration(ctx);
    const wanted = Object.entries(ctx.spec.features).filter(
      ([, f]) =>
        (f.needs === 'migration' && ctx.facts.migrationFlags !== null) ||
        (f.needs === 'dma_logging' && ctx.facts.dmaLogging),
    );
    if (!wanted.length && ctx.facts.migrationFlags !== null)
      ctx.skip('the device has no migration or logging features');
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
