/**
 * VFIO_DEVICE_FEATURE's header checks, driven by the spec's errno rules on that ioctl and their `order`:
 * each condition alone must give the rule's errno, and combined with any later condition that answers a
 * different errno, the earlier check must still win (the kernel tests them in this order).
 */
import type { CheckContext } from '../context.js';
import { GET, PROBE, SET } from '../raw-device.js';
import type { SpecFeature, SpecRule } from '../spec-data.js';
import type { Check } from './check.js';

/** A feature call before it is encoded. */
interface CallShape {
  feature: string | null;
  index: number;
  get: boolean;
  set: boolean;
  probe: boolean;
  argsz: number;
  extraFlags: number;
  badPointer: boolean;
}

/** How to make a call meet one rule's condition, and how to tell that it still does. */
interface Condition {
  apply(call: CallShape, ctx: CheckContext): CallShape | null;
  holds(call: CallShape, ctx: CheckContext): boolean;
  /** The errno this call should give, when it is not simply the rule's. */
  errno?(call: CallShape, ctx: CheckContext): string;
}

const UNKNOWN_INDEX = 0xffff;
const UNKNOWN_FLAG = 1 << 20;

function featureOf(ctx: CheckContext, call: CallShape): SpecFeature | undefined {
  return call.feature ? ctx.spec.features[call.feature] : undefined;
}

function withFeature(ctx: CheckContext, call: CallShape, name: string): CallShape {
  const f = ctx.spec.features[name]!;
  const op = f.ops[0]!;
  return {
    ...call,
    feature: name,
    index: f.index,
    get: op === 'GET',
    set: op === 'SET',
    probe: false,
    argsz: 8 + f.minsz,
  };
}

/** A feature this device lacks what it needs for, if any: no DMA logging, no migration, or no PRE_COPY. */
export function lackingFeature(ctx: CheckContext): string | null {
  const entries = Object.entries(ctx.spec.features);
  if (!ctx.facts.dmaLogging) {
    const f = entries.find(([, f]) => f.needs === 'dma_logging' && f.ops.includes('SET') && f.minsz > 0);
    if (f) return f[0];
  }
  if (ctx.facts.migrationFlags === null) {
    const f = entries.find(([, f]) => f.needs === 'migration' && f.minsz > 0);
    if (f) return f[0];
  }
  if (!ctx.has('PRE_COPY')) {
    const f = entries.find(([, f]) => f.needs === 'pre_copy');
    if (f) return f[0];
  }
  return null;
}

const CONDITIONS: Record<string, Condition> = {
  'feature.hdr.fault': {
    apply: (c) => ({ ...c, badPointer: true }),
    holds: (c) => c.badPointer,
  },
  'feature.hdr.minsz': {
    apply: (c) => ({ ...c, argsz: 4 }),
    holds: (c) => c.argsz < 8,
  },
  'feature.flags.unknown': {
    apply: (c) => ({ ...c, extraFlags: UNKNOWN_FLAG }),
    holds: (c) => c.extraFlags !== 0,
  },
  'feature.get_and_set': {
    apply: (c) => ({ ...c, get: true, set: true, probe: false }),
    holds: (c) => c.get && c.set && !c.probe,
  },
  'feature.unknown_index': {
    apply: (c) => ({ ...c, feature: null, index: UNKNOWN_INDEX }),
    holds: (c, ctx) => !Object.values(ctx.spec.features).some((f) => f.index === c.index),
  },
  'feature.needs': {
    apply: (c, ctx) => {
      const name = lackingFeature(ctx);
      return name ? withFeature(ctx, c, name) : null;
    },
    holds: (c, ctx) => c.feature !== null && c.feature === lackingFeature(ctx),
    errno: (c, ctx) => featureOf(ctx, c)!.missing,
  },
  'feature.check.op': {
    apply: (c, ctx) => {
      const f = featureOf(ctx, c);
      if (f && !f.ops.includes('SET')) return { ...c, get: false, set: true };
      if (f && !f.ops.includes('GET')) return { ...c, get: true, set: false };
      const getOnly = Object.entries(ctx.spec.features).find(
        ([, x]) => x.needs === 'migration' && !x.ops.includes('SET'),
      );
      return getOnly ? { ...withFeature(ctx, c, getOnly[0]), get: false, set: true } : null;
    },
    holds: (c, ctx) => {
      const f = featureOf(ctx, c);
      return !!f && ((c.get && !f.ops.includes('GET')) || (c.set && !f.ops.includes('SET')));
    },
  },
  'feature.check.no_access': {
    apply: (c) => ({ ...c, get: false, set: false, probe: false }),
    holds: (c) => !c.get && !c.set && !c.probe,
  },
  'feature.check.minsz': {
    apply: (c, ctx) => {
      const f = featureOf(ctx, c);
      return f && f.minsz > 0 ? { ...c, argsz: 8 + f.minsz - 1 } : null;
    },
    holds: (c, ctx) => {
      const f = featureOf(ctx, c);
      return !!f && !c.probe && c.argsz >= 8 && c.argsz - 8 < f.minsz;
    },
  },
};

function describe(c: CallShape): string {
  const access = [c.probe && 'PROBE', c.get && 'GET', c.set && 'SET'].filter(Boolean).join('|') || 'no access';
  const extra = c.extraFlags ? ` +0x${c.extraFlags.toString(16)}` : '';
  return `${access} ${c.feature ?? `index 0x${c.index.toString(16)}`}${extra}${c.badPointer ? ' (bad pointer)' : ''}`;
}

function send(ctx: CheckContext, c: CallShape): string {
  const bits = (c.get ? GET : 0) | (c.set ? SET : 0) | (c.probe ? PROBE : 0) | c.extraFlags;
  const payload = Buffer.alloc(Math.max(c.argsz - 8, 32));
  // A MIG_DEVICE_STATE SET that got through would change state: ask for the state the device is in.
  payload.writeUInt32LE(2 /* RUNNING */, 0);
  payload.writeInt32LE(-1, 4);
  const { result } = ctx.raw.feature({
    index: c.index,
    bits,
    argsz: c.argsz,
    payload,
    rawPointer: c.badPointer ? 16n : undefined,
    label: describe(c),
  });
  return result.ok ? 'success' : result.errno;
}

/** The feature calls are built on: MIG_DEVICE_STATE GET, or on a device without migration one it supports. */
function baseCall(ctx: CheckContext): CallShape {
  const blank = { badPointer: false, extraFlags: 0 } as CallShape;
  if (ctx.facts.migrationFlags === null) {
    const name = supportedFeatureWithPayload(ctx);
    if (!name) ctx.skip('the device has no migration and no other feature with a payload to build calls on');
    return withFeature(ctx, blank, name);
  }
  const name = Object.keys(ctx.spec.features).find((n) => ctx.spec.features[n]!.short === 'MIG_DEVICE_STATE');
  if (!name) ctx.skip('the spec has no MIG_DEVICE_STATE feature to build calls on');
  return { ...withFeature(ctx, blank, name), get: true, set: false };
}

/**
 * A feature with a payload whose PROBE answers 0 (a driver feature such as LOW_POWER_ENTRY_WITH_WAKEUP). Only
 * ever sent with a condition that makes it fail, so the device's power state is never touched.
 */
function supportedFeatureWithPayload(ctx: CheckContext): string | undefined {
  return Object.keys(ctx.spec.features).find((name) => {
    const f = ctx.spec.features[name]!;
    if (f.minsz === 0 || f.needs !== 'driver_op') return false;
    const op = f.ops[0] === 'GET' ? GET : SET;
    return ctx.raw.feature({ index: f.index, bits: PROBE | op, argsz: 8, label: `PROBE|${f.ops[0]} ${f.short}` }).result
      .ok;
  });
}

function expectedErrno(rule: SpecRule, cond: Condition, call: CallShape, ctx: CheckContext): string {
  return cond.errno?.(call, ctx) ?? rule.errno ?? 'EINVAL';
}

function isHeaderRule(rule: SpecRule): boolean {
  return rule.kind === 'errno' && rule.op === 'VFIO_DEVICE_FEATURE' && rule.order !== undefined;
}

/** One check per errno rule on VFIO_DEVICE_FEATURE that has a condition above; others get none. */
export function featureHeaderCheck(rule: SpecRule): Check | null {
  if (!isHeaderRule(rule) || !CONDITIONS[rule.id]) return null;
  return {
    rule: rule.id,
    run(ctx) {
      ctx.resetToStart();
      const cond = CONDITIONS[rule.id]!;
      const candidate = cond.apply(baseCall(ctx), ctx);
      if (!candidate || !cond.holds(candidate, ctx))
        return ctx.skip(
          rule.id === 'feature.needs'
            ? 'the device has everything every feature needs'
            : 'no call on this device meets the condition',
        );
      const alone: CallShape = candidate;
      const want = expectedErrno(rule, cond, alone, ctx);
      const got = send(ctx, alone);
      if (rule.id === 'feature.needs' && want !== 'ENOTTY' && got === 'ENOTTY' && alone.feature)
        ctx.skip(
          `${ctx.spec.features[alone.feature]!.short} is unknown to this kernel (ENOTTY; it arrived in ${ctx.spec.features[alone.feature]!.since})`,
        );
      ctx.expect(`${rule.condition ?? rule.id}: ${describe(alone)}`, want, got);

      // Earlier checks win: combine with every later condition that answers differently.
      if (rule.id === 'feature.hdr.fault') return; // nothing past an unreadable header is visible
      const later = Object.values(ctx.spec.rules)
        .filter((r) => isHeaderRule(r) && r.order! > rule.order! && CONDITIONS[r.id])
        .sort((a, b) => a.order! - b.order!);
      for (const other of later) {
        const otherCond = CONDITIONS[other.id]!;
        // Either condition may undo the other (both pick a feature, say): try both orders.
        const meetsBoth = (c: CallShape | null) => !!c && cond.holds(c, ctx) && otherCond.holds(c, ctx);
        const viaThis = cond.apply(baseCall(ctx), ctx);
        const viaOther = otherCond.apply(baseCall(ctx), ctx);
        const both = [viaThis && otherCond.apply(viaThis, ctx), viaOther && cond.apply(viaOther, ctx)].find(meetsBoth);
        if (!both) continue;
        const wantFirst = expectedErrno(rule, cond, both, ctx);
        if (wantFirst === expectedErrno(other, otherCond, both, ctx)) continue;
        ctx.expect(`${rule.id} is checked before ${other.id}: ${describe(both)}`, wantFirst, send(ctx, both));
      }
    },
  };
}
