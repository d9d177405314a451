/** DMA logging START/REPORT argument checks; skipped when the device has no logging (PROBE answers ENOTTY). */
import { addressOf } from '../../sys/index.js';
import type { CheckContext } from '../context.js';
import { GET, SET } from '../raw-device.js';
import type { Check } from './check.js';

const PAGE = 4096n;
const TOP = 1n << 64n;

function feature(ctx: CheckContext, short: string) {
  const f = Object.values(ctx.spec.features).find((x) => x.short === short);
  if (!f) ctx.skip(`the spec has no ${short} feature`);
  return f;
}

function requireLogging(ctx: CheckContext): void {
  if (!ctx.facts.dmaLogging) ctx.skip('the device has no DMA logging (PROBE|SET DMA_LOGGING_START: ENOTTY)');
  ctx.reach(ctx.spec.fsm.initial);
}

/** SET DMA_LOGGING_START with these ranges ([iova, length] pairs); `count` overrides num_ranges. */
function start(ctx: CheckContext, ranges: [bigint, bigint][], what: string, count = ranges.length) {
  const f = feature(ctx, 'DMA_LOGGING_START');
  const table = Buffer.alloc(Math.max(16, ranges.length * 16));
  ranges.forEach(([iova, length], i) => {
    table.writeBigUInt64LE(iova % TOP, i * 16);
    table.writeBigUInt64LE(length % TOP, i * 16 + 8);
  });
  const payload = Buffer.alloc(24);
  payload.writeBigUInt64LE(PAGE, 0);
  payload.writeUInt32LE(count, 8);
  payload.writeBigUInt64LE(addressOf(table), 16);
  const r = ctx.raw.feature({
    index: f.index,
    bits: SET,
    argsz: 8 + 24,
    payload,
    label: `SET DMA_LOGGING_START ${what}`,
  }).result;
  table.fill(0); // keep the table alive until after the call
  return r;
}

function stop(ctx: CheckContext) {
  const f = feature(ctx, 'DMA_LOGGING_STOP');
  return ctx.raw.feature({ index: f.index, bits: SET, argsz: 8, label: 'SET DMA_LOGGING_STOP' }).result;
}

function report(ctx: CheckContext, iova: bigint, length: bigint, pageSize: bigint, bitmap: Buffer, what: string) {
  const f = feature(ctx, 'DMA_LOGGING_REPORT');
  const payload = Buffer.alloc(32);
  payload.writeBigUInt64LE(iova % TOP, 0);
  payload.writeBigUInt64LE(length % TOP, 8);
  payload.writeBigUInt64LE(pageSize, 16);
  payload.writeBigUInt64LE(addressOf(bitmap), 24);
  return ctx.raw.feature({ index: f.index, bits: GET, argsz: 8 + 32, payload, label: `GET DMA_LOGGING_REPORT ${what}` })
    .result;
}

const GOOD: [bigint, bigint][] = [[0n, 64n * PAGE]];

function startCase(rule: string, what: string, ranges: () => [bigint, bigint][], count?: number): Check {
  return {
    rule,
    run(ctx) {
      requireLogging(ctx);
      const r = start(ctx, ranges(), what, count);
      ctx.expectOutcome(`START with ${what}`, ctx.rule.errno ?? 'EINVAL', r);
      if (r.ok) stop(ctx);
    },
  };
}

export const dmaLoggingChecks: Check[] = [
  startCase('dma_logging.start.no_ranges', 'num_ranges 0', () => GOOD, 0),
  startCase('dma_logging.start.too_many', '257 ranges (more than fit in a 4 KiB page)', () =>
    Array.from({ length: 257 }, (_, i): [bigint, bigint] => [BigInt(i) * 2n * PAGE, PAGE]),
  ),
  startCase('dma_logging.start.align', 'a range starting mid-page', () => [[PAGE + 1n, PAGE]]),
  startCase('dma_logging.start.overflow', 'a range wrapping past 2^64', () => [[TOP - PAGE, 2n * PAGE]]),
  startCase('dma_logging.start.overlap', 'two overlapping ranges', () => [
    [0n, 2n * PAGE],
    [PAGE, 2n * PAGE],
  ]),
  {
    rule: 'dma_logging.start.once',
    run(ctx) {
      requireLogging(ctx);
      if (!ctx.expectOutcome('first START', 'success', start(ctx, GOOD, 'one range'))) return;
      const again = start(ctx, [[128n * PAGE, PAGE]], 'again, before STOP');
      ctx.expect('a second START before STOP', 'refused', again.ok ? 'accepted' : 'refused');
      ctx.expectOutcome('STOP', 'success', stop(ctx));
    },
  },
  {
    rule: 'dma_logging.report.page_size',
    run(ctx) {
      requireLogging(ctx);
      if (!ctx.expectOutcome('START', 'success', start(ctx, GOOD, 'one range'))) return;
      const bitmap = Buffer.alloc(64);
      for (const size of [1024n, 3n * PAGE])
        ctx.expectOutcome(
          `REPORT with page_size ${size}`,
          ctx.rule.errno ?? 'EINVAL',
          report(ctx, 0n, 64n * PAGE, size, bitmap, `page_size ${size}`),
        );
      stop(ctx);
    },
  },
  {
    rule: 'dma_logging.report.overflow',
    run(ctx) {
      requireLogging(ctx);
      if (!ctx.expectOutcome('START', 'success', start(ctx, GOOD, 'one range'))) return;
      const bitmap = Buffer.alloc(64);
      ctx.expectOutcome(
        'REPORT of a range wrapping past 2^64',
        ctx.rule.errno ?? 'EOVERFLOW',
        report(ctx, TOP - PAGE, 2n * PAGE, PAGE, bitmap, 'wrapping'),
      );
      stop(ctx);
    },
  },
  {
    rule: 'dma_logging.report.bits',
    run(ctx) {
      requireLogging(ctx);
      if (!ctx.expectOutcome('START', 'success', start(ctx, GOOD, 'one range'))) return;
      const bitmap = Buffer.alloc(8);
      bitmap.writeBigUInt64LE(0xa5a5_0000_0000_a5a5n, 0);
      const r = report(ctx, 0n, 64n * PAGE, PAGE, bitmap, '64 pages');
      // The core fills the user's bitmap with iova_bitmap, which a kernel without CONFIG_IOMMUFD_DRIVER lacks:
      // PROBE (and START) still say logging works. That is a mismatch a VMM meets as failed dirty tracking.
      if (!r.ok && r.errno === 'EOPNOTSUPP') {
        ctx.fail(
          'REPORT after PROBE|SET DMA_LOGGING_START answered 0 (logging supported) and START succeeded',
          'success',
          'EOPNOTSUPP: PROBE says supported, REPORT cannot work (a kernel without CONFIG_IOMMUFD_DRIVER has no iova_bitmap)',
        );
        stop(ctx);
        return;
      }
      if (ctx.expectOutcome('REPORT of 64 pages', 'success', r)) {
        const after = bitmap.readBigUInt64LE(0);
        ctx.expect(
          'bits the caller had set survive the report',
          'kept',
          (after & 0xa5a5_0000_0000_a5a5n) === 0xa5a5_0000_0000_a5a5n ? 'kept' : `cleared (0x${after.toString(16)})`,
        );
      }
      stop(ctx);
    },
  },
];
