/**
 * Run the conformance suite: one result per rule of the spec it is judged by (plus the rules derived from
 * struct declarations), in the spec's order. The device is reset before and after every check.
 */
import { VfioMigrationFlags } from '../../generated/constants.js';
import { VfioError } from '../errors.js';
import { abortReason } from '../stream/limits.js';
import { Errno } from '../sys/index.js';
import { CheckContext, SetupFailure, type DeviceFacts, type SuiteOptions } from './context.js';
import { checkFor } from './checks/index.js';
import { isAccessPathRule, type AccessPaths } from './checks/access-paths.js';
import { structArgszRule } from './checks/struct-argsz.js';
import type { KnownFailures } from './known-failures.js';
import { GET, PROBE, SET, RawDevice, type CallResult } from './raw-device.js';
import { capsKeyFor, type SpecData, type SpecRule } from './spec-data.js';
import { Skip, summarize, type Report, type RuleResult, type Status } from './verdict.js';

export interface ConformanceInput {
  /** The device fd under test (opened by the runtime), and how to name it in the report. */
  deviceFd: number;
  device: string;
  spec: SpecData;
  only?: string[];
  knownFailures?: KnownFailures | null;
  options?: Partial<SuiteOptions>;
  /** The device's access nodes, for the access-path rules (fresh opens next to the device under test). */
  access?: AccessPaths;
  /**
   * For a real device: the kernel lets one open at a time bind a device through its cdev (and one process
   * hold its group), so the access-path rules run first, with the device closed, and the device is opened
   * again for the rest. Without it those rules open the nodes while the device stays open (the emulator).
   */
  exclusive?: { release(): Promise<void>; reopen(): Promise<number> };
  /** Called after each rule, for progress output. */
  onResult?: (r: RuleResult) => void;
  /**
   * Stops the run between two checks (a check always ends with the device reset, so it is left RUNNING with no
   * data fd open); the suite then throws a VfioError of kind `cancelled`.
   */
  signal?: AbortSignal;
}

/** What is known of the device when a run stops: the answer to the last reset the suite sent, if any. */
function deviceAfter(reset: CallResult | null, when: string): { text: string; state: string | null } {
  if (!reset) return { text: 'the suite had not touched the device yet', state: null };
  return reset.ok
    ? { text: `the device was reset ${when} (RUNNING)`, state: 'RUNNING' }
    : { text: `the reset ${when} failed (${reset.errno}): the device's state is unknown`, state: null };
}

/** Throws when the run was asked to stop; `judged` rules had been judged by then. */
function stopIfAborted(input: ConformanceInput, judged: number, total: number, device: ReturnType<typeof deviceAfter>) {
  if (!input.signal?.aborted) return;
  throw new VfioError(`stopped by ${abortReason(input.signal)} after ${judged} of ${total} rules; ${device.text}`, {
    kind: 'cancelled',
    op: 'conform',
    fdKind: 'device',
    state: device.state,
    errno: Errno.ECANCELED,
  });
}

/** What the device says about itself before any check runs. */
function learnFacts(raw: RawDevice, spec: SpecData): DeviceFacts & { reset: CallResult } {
  const reset = raw.reset();
  const mig = raw.feature({ index: 1, bits: GET, argsz: 16, label: 'GET MIGRATION' });
  const migrationFlags = mig.result.ok ? Number(mig.buf.readBigUInt64LE(8)) : null;
  const caps = migrationFlags === null ? null : capsKeyFor(spec.fsm, migrationFlags, VfioMigrationFlags);
  const logStart = Object.values(spec.features).find((f) => f.short === 'DMA_LOGGING_START');
  const dmaLogging = logStart
    ? raw.feature({ index: logStart.index, bits: PROBE | SET, argsz: 8, label: 'PROBE|SET DMA_LOGGING_START' }).result
        .ok
    : false;
  return { migrationFlags, caps, dmaLogging, reset };
}

function classify(
  rule: SpecRule,
  raw: 'pass' | 'fail' | 'skip' | 'no-check',
  known: KnownFailures | null | undefined,
  onlyShould = false,
): { status: Status; why?: string } {
  const expected = known?.entries.get(rule.id);
  if (expected !== undefined) {
    if (raw === 'fail') return { status: 'expected-fail', why: expected };
    if (raw === 'pass') return { status: 'stale', why: `listed in ${known!.source} (${expected}) but passed` };
  }
  if (raw === 'fail' && (rule.strength === 'should' || rule.strength === 'estimate' || onlyShould))
    return { status: 'warn' };
  return { status: raw };
}

export async function runConformance(input: ConformanceInput): Promise<Report> {
  const began = performance.now();
  const options: SuiteOptions = { withForbidden: false, forbiddenTimeoutMs: 3000, emulated: false, ...input.options };
  const rules = [...Object.values(input.spec.rules), structArgszRule].filter(
    (r) => !input.only?.length || input.only.some((o) => r.id === o || r.id.startsWith(`${o}.`)),
  );
  const byRule = new Map<string, RuleResult>();
  // What the last reset answered, for the message of a run that stops (checks end with a reset).
  let lastReset = deviceAfter(null, '');
  const judge = async (rule: SpecRule, raw: RawDevice, facts: DeviceFacts, resetAfter: boolean) => {
    const t0 = performance.now();
    const logStart = raw.log.length;
    const ctx = new CheckContext(raw, input.spec, rule, facts, options);
    const check = checkFor(rule, ctx, input.access);
    let outcome: 'pass' | 'fail' | 'skip' | 'no-check' = 'no-check';
    let why: string | undefined = check ? undefined : 'no check for this rule yet';
    if (check) {
      try {
        await check.run(ctx);
        outcome = ctx.mismatches.length ? 'fail' : 'pass';
      } catch (e) {
        if (e instanceof Skip) {
          outcome = 'skip';
          why = e.why;
        } else {
          outcome = 'fail';
          const message = e instanceof SetupFailure ? e.message : `the check threw: ${(e as Error).stack ?? e}`;
          ctx.fail('setting up the check', 'the device reaches the state the check needs', message);
        }
      } finally {
        if (resetAfter) {
          raw.closeDataFds();
          lastReset = deviceAfter(raw.reset(), 'after the last check');
        }
      }
    }
    const onlyShould = ctx.mismatches.length > 0 && ctx.mismatches.every((m) => m.strength === 'should');
    const c = classify(rule, outcome, input.knownFailures, onlyShould);
    const result: RuleResult = {
      rule: rule.id,
      kind: rule.kind,
      strength: rule.strength,
      since: rule.since,
      doc: rule.doc,
      status: c.status,
      why: c.why ?? why,
      mismatches: ctx.mismatches,
      notes: ctx.notes,
      calls: raw.log.length - logStart,
      ms: Math.round(performance.now() - t0),
    };
    byRule.set(rule.id, result);
    raw.log.length = 0; // the log only needs to reach back to the current check
    return result;
  };

  // Access-path rules on a real device: judged first, while the device under test is closed.
  let deviceFd = input.deviceFd;
  const accessFirst = input.exclusive && input.access ? rules.filter(isAccessPathRule) : [];
  if (accessFirst.length) {
    await input.exclusive!.release();
    try {
      const noDevice = new RawDevice(-1, input.device);
      const noFacts: DeviceFacts = { migrationFlags: null, caps: null, dmaLogging: false };
      for (const rule of accessFirst) {
        stopIfAborted(input, byRule.size, rules.length, deviceAfter(null, ''));
        await judge(rule, noDevice, noFacts, false);
      }
    } finally {
      deviceFd = await input.exclusive!.reopen();
    }
  }

  const raw = new RawDevice(deviceFd, input.device);
  const facts = learnFacts(raw, input.spec);
  lastReset = deviceAfter(facts.reset, 'before the first check');
  // Results come out in the spec's order; those judged first are announced when their turn comes.
  const results: RuleResult[] = [];
  for (const rule of rules) {
    if (!byRule.has(rule.id)) stopIfAborted(input, byRule.size, rules.length, lastReset);
    const result = byRule.get(rule.id) ?? (await judge(rule, raw, facts, true));
    results.push(result);
    input.onResult?.(result);
  }
  const unknownListed = [...(input.knownFailures?.entries.keys() ?? [])].filter(
    (id) => !rules.some((r) => r.id === id),
  );
  const report: Report = {
    device: input.device,
    spec: input.spec.label,
    capabilities: facts.caps ?? (facts.migrationFlags === null ? null : `flags 0x${facts.migrationFlags.toString(16)}`),
    knownFailures: input.knownFailures?.source ?? null,
    results,
    summary: summarize(results),
    ms: Math.round(performance.now() - began),
  };
  if (unknownListed.length && !input.only?.length)
    for (const id of unknownListed)
      results.push({
        rule: id,
        kind: 'unknown',
        strength: 'must',
        since: '',
        status: 'stale',
        why: `listed in ${input.knownFailures!.source} but the spec has no such rule`,
        mismatches: [],
        notes: [],
        calls: 0,
        ms: 0,
      });
  report.summary = summarize(results);
  return report;
}
