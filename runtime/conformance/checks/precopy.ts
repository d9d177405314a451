/** VFIO_MIG_GET_PRECOPY_INFO: its argument checks, byte accounting while reading, and the v2 opt-in. */
import { describeKernel, featureAvailable } from '../../kernel-release.js';
import type { CheckContext } from '../context.js';
import { GET, SET } from '../raw-device.js';
import type { Check } from './check.js';

function requirePreCopy(ctx: CheckContext): void {
  if (!ctx.has('PRE_COPY')) ctx.skip('the device has no PRE_COPY');
}

/** Reaches PRE_COPY and asks PRECOPY_INFO once; null (the mismatch recorded) when that first answer fails. */
function firstPrecopyInfo(ctx: CheckContext) {
  requirePreCopy(ctx);
  const { fd } = ctx.reachWithFd('PRE_COPY');
  const first = ctx.raw.precopyInfo(fd);
  return ctx.expectOutcome('PRECOPY_INFO in PRE_COPY', 'success', first.result) ? { fd, first } : null;
}

/** How a measured byte count compared with an estimate: " (exact)" or " (off by +N B)". */
function offBy(predicted: bigint, measured: bigint): string {
  const off = measured - predicted;
  return off === 0n ? ' (exact)' : ` (off by ${off > 0n ? '+' : ''}${off} B)`;
}

export const precopyArgsz: Check = {
  rule: 'precopy.args.argsz',
  run(ctx) {
    requirePreCopy(ctx);
    const { fd } = ctx.reachWithFd('PRE_COPY');
    ctx.expectOutcome('argsz 16', ctx.rule.errno ?? 'EINVAL', ctx.raw.precopyInfo(fd, 16).result);
    for (const argsz of [24, 32]) {
      const r = ctx.raw.precopyInfo(fd, argsz);
      if (ctx.expectOutcome(`argsz ${argsz}`, 'success', r.result))
        ctx.expect(`argsz written back for argsz ${argsz}`, String(argsz), String(r.argsz));
    }
  },
};

export const precopyWrongCommand: Check = {
  rule: 'precopy.args.cmd',
  run(ctx) {
    const { fd } = ctx.reachWithFd(ctx.has('PRE_COPY') ? 'PRE_COPY' : 'STOP_COPY');
    const buf = Buffer.alloc(64);
    buf.writeUInt32LE(24, 0);
    ctx.expectOutcome(
      'an unassigned VFIO ioctl (0x3b7f) on the data fd',
      ctx.rule.errno ?? 'ENOTTY',
      ctx.raw.ioctl(fd, 0x3b7f, buf, '0x3b7f'),
    );
    buf.writeUInt32LE(24, 0);
    ctx.expectOutcome(
      'VFIO_DEVICE_GET_INFO on the data fd',
      ctx.rule.errno ?? 'ENOTTY',
      ctx.raw.ioctl(fd, 0x3b6b, buf, 'VFIO_DEVICE_GET_INFO'),
    );
  },
};

/**
 * The numbers are estimates (vfio.h says so and states no bound): read the pre-copy data round by round and
 * report how close initial + dirty came to what was readable before each temporary end. Nothing here fails;
 * the parts the text words as "should" are precopy.initial_bytes and precopy.temporary_end.
 */
export const precopyAccounting: Check = {
  rule: 'precopy.accounting',
  run(ctx) {
    const start = firstPrecopyInfo(ctx);
    if (!start) return;
    const { fd, first } = start;
    ctx.note(
      `at the start: initial_bytes ${first.initial} B, dirty_bytes ${first.dirty} B (the header: dirty starts at zero)`,
    );
    const part = Number(first.initial / 2n) || 1;
    const r = ctx.raw.read(fd, Buffer.alloc(part));
    const got = r.ok ? r.ret : 0;
    let info = ctx.raw.precopyInfo(fd);
    if (got > 0 && info.result.ok)
      ctx.note(
        `after reading ${got} B: initial_bytes ${first.initial} → ${info.initial} B (exact accounting would give ${first.initial >= BigInt(got) ? first.initial - BigInt(got) : 0n} B)`,
      );
    for (let round = 1; round <= 3 && info.result.ok; round++) {
      const drained = ctx.readToEnd(fd);
      const predicted = info.initial + info.dirty;
      const readable = BigInt(drained.data.length);
      ctx.note(
        `round ${round}: initial + dirty predicted ${predicted} B, ${readable} B were readable before the ${drained.end === 'ENOMSG' || drained.end === 'EOF' ? `temporary end (${drained.end})` : `read stopped (${drained.end})`}${offBy(predicted, readable)}`,
      );
      info = ctx.raw.precopyInfo(fd);
      if (readable === 0n) break;
    }
  },
};

/** initial_bytes should start non-zero and go down as the stream is read (how far is an estimate). */
export const precopyInitialBytes: Check = {
  rule: 'precopy.initial_bytes',
  run(ctx) {
    const start = firstPrecopyInfo(ctx);
    if (!start) return;
    const { fd, first } = start;
    if (!ctx.expect('initial_bytes at the start', 'non-zero', first.initial > 0n ? 'non-zero' : '0')) return;
    const r = ctx.raw.read(fd, Buffer.alloc(Number(first.initial / 2n) || 1));
    if (!r.ok) return ctx.skip(`no pre-copy data could be read (${r.errno})`);
    if (r.ret === 0) ctx.skip('no pre-copy data could be read (read() = 0)');
    const after = ctx.raw.precopyInfo(fd);
    if (!ctx.expectOutcome('PRECOPY_INFO after a read', 'success', after.result)) return;
    ctx.expect(
      `initial_bytes after reading ${r.ret} B`,
      `less than ${first.initial}`,
      after.initial < first.initial ? `less than ${first.initial}` : String(after.initial),
    );
  },
};

/**
 * When PRECOPY_INFO answers initial 0 + dirty 0 the stream is at its temporary end: nothing may be readable
 * right after. (The other direction — non-zero numbers at the end — is an estimate being off, which
 * precopy.accounting reports.)
 */
export const precopyTemporaryEnd: Check = {
  rule: 'precopy.temporary_end',
  run(ctx) {
    requirePreCopy(ctx);
    const { fd } = ctx.reachWithFd('PRE_COPY');
    for (let round = 1; round <= 3; round++) {
      const info = ctx.raw.precopyInfo(fd);
      if (!ctx.expectOutcome(`PRECOPY_INFO, round ${round}`, 'success', info.result)) return;
      const drained = ctx.readToEnd(fd);
      if (info.initial === 0n && info.dirty === 0n)
        ctx.expect(
          `bytes readable right after PRECOPY_INFO reported initial 0 + dirty 0, the temporary end (round ${round})`,
          '0',
          String(drained.data.length),
        );
      if (drained.data.length === 0) break;
    }
  },
};

function v2Feature(ctx: CheckContext): { index: number; short: string; since: string; missing: string } {
  const f = Object.values(ctx.spec.features).find((x) => x.needs === 'pre_copy');
  if (!f) ctx.skip('the spec has no precopy-info v2 feature');
  return f;
}

/**
 * The feature answered ENOTTY: a skip on a kernel older than its `since` (or an emulated device, or an unknown
 * release); on a kernel that should have it, a mismatch naming the release.
 */
function unknownFeature(ctx: CheckContext, f: { short: string; since: string }): void {
  const kernel = ctx.options.emulated ? null : ctx.options.kernel;
  const available = kernel ? featureAvailable(ctx.spec, kernel, f.short) : null;
  if (available === true) {
    ctx.fail(`SET ${f.short}`, `success (Linux ${describeKernel(kernel!)} has it: it arrived in ${f.since})`, 'ENOTTY');
    return;
  }
  ctx.skip(
    kernel && available === false
      ? `${f.short} arrived in ${f.since}; this kernel is ${describeKernel(kernel)} (ENOTTY)`
      : `${f.short} is unknown to this kernel (ENOTTY; it arrived in ${f.since})`,
  );
}

export const precopyV2NeedsPreCopy: Check = {
  rule: 'precopy.v2.needs_pre_copy',
  run(ctx) {
    if (ctx.has('PRE_COPY')) ctx.skip('the device has PRE_COPY');
    // Without migration ops every migration feature is ENOTTY, this one included: nothing to learn here.
    if (ctx.facts.migrationFlags === null) ctx.skip('the device does not support migration');
    const f = v2Feature(ctx);
    const { result } = ctx.raw.feature({ index: f.index, bits: SET, argsz: 8, label: `SET ${f.short}` });
    if (!result.ok && result.errno === 'ENOTTY' && ctx.rule.errno !== 'ENOTTY') return unknownFeature(ctx, f);
    ctx.expectOutcome(`SET ${f.short} on a device without PRE_COPY`, ctx.rule.errno ?? f.missing, result);
  },
};

export const precopyV2Flags: Check = {
  rule: 'precopy.v2.flags',
  run(ctx) {
    requirePreCopy(ctx);
    const f = v2Feature(ctx);
    const { fd } = ctx.reachWithFd('PRE_COPY');
    const { result } = ctx.raw.feature({ index: f.index, bits: SET, argsz: 8, label: `SET ${f.short}` });
    if (!result.ok && result.errno === 'ENOTTY') return unknownFeature(ctx, f);
    if (!ctx.expectOutcome(`SET ${f.short}`, 'success', result)) return;
    const info = ctx.raw.precopyInfo(fd, 24, 0xfffffffe);
    if (!ctx.expectOutcome('PRECOPY_INFO after the opt-in', 'success', info.result)) return;
    ctx.expect(
      'flags after the opt-in (caller sent 0xfffffffe)',
      '0 or REINIT (1)',
      info.flags === 0 || info.flags === 1 ? '0 or REINIT (1)' : `0x${info.flags.toString(16)}`,
    );
  },
};

/**
 * MIG_DATA_SIZE is an estimate of what STOP_COPY will stream: ask it in RUNNING, go to STOP_COPY along the
 * spec's path, read to the end, and report how close it was. Fails nothing unless the calls themselves fail.
 */
export const dataSizeEstimate: Check = {
  rule: 'data_size.estimate',
  run(ctx) {
    const f = Object.values(ctx.spec.features).find((x) => x.short === 'MIG_DATA_SIZE');
    if (!f) return ctx.skip('the spec has no MIG_DATA_SIZE feature');
    ctx.reach(ctx.spec.fsm.initial);
    const q = ctx.raw.feature({ index: f.index, bits: GET, argsz: 16, label: 'GET MIG_DATA_SIZE' });
    if (!q.result.ok) return ctx.skip(`GET MIG_DATA_SIZE answered ${q.result.errno} (see data_size.mandatory)`);
    const predicted = q.buf.readBigUInt64LE(8);
    const { fd } = ctx.reachWithFd('STOP_COPY');
    const drained = ctx.readToEnd(fd);
    const readable = BigInt(drained.data.length);
    ctx.note(
      `stop_copy_length predicted ${predicted} B in ${ctx.spec.fsm.initial}, STOP_COPY then streamed ${readable} B${offBy(predicted, readable)}${drained.end === 'EOF' ? '' : `; the read stopped with ${drained.end}`}`,
    );
  },
};
