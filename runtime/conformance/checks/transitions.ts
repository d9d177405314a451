/**
 * The state machine: every (state, request) pair of the device's capability set, with the resulting
 * state and data-fd effect the spec's derived path and arcs predict; refused and forbidden requests.
 */
import { blockedRequest, describeFix, describeKernel } from '../../kernel-release.js';
import { arcOf, forbiddenFor, stateExists } from '../spec-data.js';
import { SetupFailure, type CheckContext } from '../context.js';
import { ForbiddenCaller } from '../forbidden-call.js';
import type { Check } from './check.js';

/** The data-fd effect the last arc of a path has, as the request's answer should show it. */
function opensFd(ctx: CheckContext, from: string, path: readonly string[]): boolean {
  if (!path.length) return false;
  const before = path.length > 1 ? path[path.length - 2]! : from;
  return (arcOf(ctx.spec.fsm, ctx.caps, before, path[path.length - 1]!)?.fd ?? 'none').startsWith('opens');
}

function expectState(ctx: CheckContext, what: string, want: string): void {
  const g = ctx.raw.getState();
  ctx.expect(what, want, g.result.ok ? g.state : `GET failed: ${g.result.errno}`);
}

const forbiddenPair = (ctx: CheckContext, from: string, to: string) => !!forbiddenFor(ctx.spec.fsm, ctx.caps, from, to);

export const stateGet: Check = {
  rule: 'mig.state.get',
  run(ctx) {
    for (const state of ctx.states()) {
      ctx.reach(state);
      const g = ctx.raw.getState();
      if (!ctx.expectOutcome(`GET in ${state}`, 'success', g.result)) continue;
      ctx.expect(`GET in ${state} reports the state`, state, g.state);
      ctx.expect(`GET in ${state} writes -1 as data_fd`, '-1', String(g.dataFd));
    }
  },
};

export const setFd: Check = {
  rule: 'mig.state.set.fd',
  run(ctx) {
    const states = ctx.states();
    const stream = ctx.sourceStreamOrEmpty();
    for (const from of states)
      for (const to of states) {
        if (forbiddenPair(ctx, from, to)) continue;
        const path = ctx.spec.fsm.paths[ctx.caps]![from]![to];
        if (!path) continue;
        ctx.reachLoaded(from, stream);
        const r = ctx.raw.setState(to);
        if (!ctx.expectOutcome(`SET ${from} → ${to}`, 'success', r.result)) {
          ctx.raw.reset();
          continue;
        }
        expectState(ctx, `state after ${from} → ${to}`, to);
        const want = opensFd(ctx, from, path);
        ctx.expect(
          `data_fd of ${from} → ${to} (path ${path.join(' → ') || 'none'})`,
          want ? 'a new fd (≥ 0)' : '-1',
          r.dataFd >= 0 ? 'a new fd (≥ 0)' : String(r.dataFd),
        );
      }
  },
};

export const setInvalid: Check = {
  rule: 'mig.state.set.invalid',
  run(ctx) {
    const fsm = ctx.spec.fsm;
    const refused: (string | number)[] = fsm.states.filter((s) => !stateExists(fsm, ctx.caps, s));
    refused.push(fsm.states.length + 91); // out of range
    for (const from of ctx.states())
      for (const to of refused) {
        if (typeof to === 'string' && forbiddenPair(ctx, from, to)) continue;
        ctx.reach(from);
        const r = ctx.raw.setState(to);
        ctx.expectOutcome(
          `SET ${from} → ${typeof to === 'number' ? `#${to}` : to}`,
          ctx.rule.errno ?? 'EINVAL',
          r.result,
        );
        expectState(ctx, `state after the refused request from ${from}`, from);
      }
  },
};

export const setForbidden: Check = {
  rule: 'mig.state.set.forbidden',
  async run(ctx) {
    const fsm = ctx.spec.fsm;
    const pairs = fsm.forbidden.filter(
      (f) =>
        stateExists(fsm, ctx.caps, f.from) &&
        stateExists(fsm, ctx.caps, f.to) &&
        forbiddenFor(fsm, ctx.caps, f.from, f.to) === f,
    );
    if (!pairs.length)
      ctx.skip(`no forbidden request applies to a ${ctx.caps} device (the targets do not exist there)`);
    // What this kernel answers, from the spec's version data (a release before the fix never returns).
    const kernel = ctx.options.emulated ? null : ctx.options.kernel;
    const predicted = kernel ? pairs.map((f) => ({ f, ...blockedRequest(ctx.spec, kernel, f.from, f.to) })) : [];
    const hangs = predicted.find((p) => p.answer === 'hang');
    if (hangs && kernel)
      ctx.skip(
        `Linux ${describeKernel(kernel)} never returns from ${hangs.f.from} → ${hangs.f.to} (${describeFix(hangs.fix!)}); ` +
          'not issued, the request would spin in the kernel for good',
      );
    if (!ctx.options.emulated && !ctx.options.withForbidden) {
      if (predicted.length && predicted.every((p) => p.status === 'fixed'))
        ctx.skip(
          `this kernel (${describeKernel(kernel!)}) answers them with ${predicted[0]!.answer} (${describeFix(predicted[0]!.fix!)}); pass --with-forbidden to issue them`,
        );
      const fix = ctx.spec.kernelFixes?.find((k) => pairs.some((p) => p.kernelFix === k.id));
      ctx.skip(
        fix
          ? `real kernels ${fix.fixes ? `from ${fix.fixes.release} ` : ''}before ${fix.fixedIn.mainline}${fix.fixedIn.stable.length ? ` (and before ${fix.fixedIn.stable.join(', ')} in ${fix.fixedIn.stable.map((s) => s.split('.').slice(0, 2).join('.')).join(', ')})` : ''} never return from these requests (${fix.before}); since ${fix.commit} "${fix.subject}" they answer ${fix.after}. Pass --with-forbidden to issue them anyway (from a child process, left behind if it hangs)`
          : 'a real kernel may never return from these requests; pass --with-forbidden to issue them anyway',
      );
    }
    for (const p of predicted)
      if (p.status === 'fixed' || p.status === 'unaffected')
        ctx.note(
          `${p.f.from} → ${p.f.to}: ${p.answer} expected on ${describeKernel(kernel!)} (${p.status}: ${describeFix(p.fix!)})`,
        );
    // One child process (a real device) or one worker per request (emulated) for all the requests.
    const caller = new ForbiddenCaller(ctx.raw.fd, ctx.options.emulated ? 'worker' : 'child');
    try {
      await issueForbidden(ctx, pairs, caller);
    } finally {
      await caller.close();
    }
  },
};

type ForbiddenPair = CheckContext['spec']['fsm']['forbidden'][number];

/** Issues each forbidden request from its source state and checks the answer and that the state held. */
async function issueForbidden(ctx: CheckContext, pairs: readonly ForbiddenPair[], caller: ForbiddenCaller) {
  for (const f of pairs) {
    ctx.reach(f.from);
    const buf = Buffer.alloc(16);
    buf.writeUInt32LE(16, 0);
    buf.writeUInt32LE((2 | 0x20000) >>> 0, 4); // SET MIG_DEVICE_STATE
    buf.writeUInt32LE(ctx.spec.states[f.to]!, 8);
    buf.writeInt32LE(-1, 12);
    const where = ctx.options.emulated ? 'worker' : 'child';
    const t0 = performance.now();
    const out = await caller.call(buf, ctx.options.forbiddenTimeoutMs);
    if (out.done)
      ctx.note(
        `${f.from} → ${f.to} answered ${out.errno ?? out.ret} after ${Math.round(performance.now() - t0)} ms (from a ${where})`,
      );
    ctx.raw.log.push(
      `SET MIG_DEVICE_STATE ${f.to} from ${f.from} (in a ${where}) → ${out.done ? (out.errno ?? out.ret) : 'no answer'}`,
    );
    if (!out.done && out.why === 'ended')
      throw new SetupFailure(
        `the ${where} issuing ${f.from} → ${f.to} ended before the kernel answered (it was killed or could not start)`,
      );
    if (!out.done) {
      ctx.fail(
        `${f.from} → ${f.to}`,
        f.errno,
        `no answer within ${ctx.options.forbiddenTimeoutMs} ms (the step function loops)`,
      );
      return; // the device is stuck in that call; nothing more can be asked of it
    }
    ctx.expect(`${f.from} → ${f.to}`, f.errno, out.errno ?? 'success');
    expectState(ctx, `state after the forbidden request`, f.from);
  }
}

/** PRE_COPY, PRE_COPY_P2P and STOP_COPY share one fd: moves among them answer -1 and the fd keeps working. */
export const singleSession: Check = {
  rule: 'mig.fd.single_session',
  run(ctx) {
    if (!ctx.has('PRE_COPY')) ctx.skip('the device has no PRE_COPY, so a session never spans states');
    const fsm = ctx.spec.fsm;
    const saving = ['PRE_COPY', 'PRE_COPY_P2P', 'STOP_COPY'].filter((s) => stateExists(fsm, ctx.caps, s));
    for (const from of saving.filter((s) => s !== 'STOP_COPY'))
      for (const to of saving) {
        if (to === from) continue;
        const { fd } = ctx.reachWithFd(from);
        const r = ctx.raw.setState(to);
        if (!ctx.expectOutcome(`SET ${from} → ${to}`, 'success', r.result)) continue;
        ctx.expect(`data_fd of ${from} → ${to}`, '-1', String(r.dataFd));
        const read = ctx.raw.read(fd, Buffer.alloc(1));
        ctx.expect(
          `the ${from} fd still answers in ${to}`,
          'not ENODEV',
          read.ok ? 'not ENODEV' : read.errno === 'ENODEV' ? 'ENODEV' : 'not ENODEV',
        );
      }
  },
};
