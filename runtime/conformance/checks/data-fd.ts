/** The data fd as a file: stream-only, one direction, dead once its session ends or the device resets. */
import type { CheckContext } from '../context.js';
import { SetupFailure } from '../context.js';
import { arcOf } from '../spec-data.js';
import type { Check } from './check.js';

const probe = Buffer.alloc(16);

/** Put the source's stream into RESUMING; returns the resuming fd. */
function resumeWith(ctx: CheckContext, stream: Buffer): number {
  const { fd } = ctx.reachWithFd('RESUMING');
  const w = ctx.writeStream(fd, stream);
  if (!w.ok) throw new SetupFailure(`writing the source's own stream failed at byte ${w.at} with ${w.errno}`);
  return fd;
}

export const fdEnded: Check = {
  rule: 'mig.fd.ended',
  run(ctx) {
    const fsm = ctx.spec.fsm;
    const ending = fsm.arcs.filter(
      (a) =>
        a.fd === 'ends' &&
        ctx.states().includes(a.from) &&
        ctx.states().includes(a.to) &&
        arcOf(fsm, ctx.caps, a.from, a.to) === a,
    );
    let stream: Buffer | null = null;
    for (const arc of ending) {
      let fd: number;
      if (arc.from === 'RESUMING') fd = resumeWith(ctx, (stream ??= ctx.saveStream()));
      else fd = ctx.reachWithFd(arc.from).fd;
      const r = ctx.raw.setState(arc.to);
      if (!ctx.expectOutcome(`SET ${arc.from} → ${arc.to}`, 'success', r.result)) continue;
      const after = arc.from === 'RESUMING' ? ctx.raw.write(fd, probe) : ctx.raw.read(fd, probe);
      ctx.expectOutcome(
        `${arc.from === 'RESUMING' ? 'write' : 'read'} on the ${arc.from} fd after ${arc.from} → ${arc.to}`,
        ctx.rule.errno ?? 'ENODEV',
        after,
      );
    }
  },
};

export const fdStream: Check = {
  rule: 'mig.fd.stream',
  run(ctx) {
    const saving = ctx.reachWithFd(ctx.has('PRE_COPY') ? 'PRE_COPY' : 'STOP_COPY').fd;
    ctx.expectOutcome('pread on the saving fd', ctx.rule.errno ?? 'ESPIPE', ctx.raw.pread(saving, probe, 0));
    const resuming = ctx.reachWithFd('RESUMING').fd;
    ctx.expectOutcome('pwrite on the resuming fd', ctx.rule.errno ?? 'ESPIPE', ctx.raw.pwrite(resuming, probe, 0));
  },
};

export const fdDirection: Check = {
  rule: 'mig.fd.direction',
  run(ctx) {
    const saving = ctx.reachWithFd(ctx.has('PRE_COPY') ? 'PRE_COPY' : 'STOP_COPY').fd;
    ctx.expectOutcome('write on the saving fd', ctx.rule.errno ?? 'EBADF', ctx.raw.write(saving, probe));
    const resuming = ctx.reachWithFd('RESUMING').fd;
    ctx.expectOutcome('read on the resuming fd', ctx.rule.errno ?? 'EBADF', ctx.raw.read(resuming, probe));
  },
};

export const resetRunning: Check = {
  rule: 'mig.reset.running',
  run(ctx) {
    for (const state of ctx.states()) {
      const { fd } = ctx.reach(state);
      if (!ctx.expectOutcome(`VFIO_DEVICE_RESET in ${state}`, 'success', ctx.raw.reset())) continue;
      const g = ctx.raw.getState();
      ctx.expect(`state after a reset in ${state}`, ctx.spec.fsm.initial, g.result.ok ? g.state : g.result.errno);
      if (fd >= 0) {
        const resuming = state === 'RESUMING';
        const r = resuming ? ctx.raw.write(fd, probe) : ctx.raw.read(fd, probe);
        ctx.expectOutcome(`${resuming ? 'write' : 'read'} on the ${state} fd after the reset`, 'ENODEV', r);
      }
    }
  },
};

/** The device takes its own stream back in any chunking, and refuses a corrupted one until reset. */
export const streamResume: Check = {
  rule: 'stream.resume',
  run(ctx) {
    const stream = ctx.saveStream();
    ctx.note(`the source stream is ${stream.length} bytes`);
    const { fd } = ctx.reachWithFd('RESUMING');
    const w = ctx.writeStream(fd, stream);
    ctx.expect(
      `writing the source's ${stream.length}-byte stream in uneven chunks`,
      'accepted',
      w.ok ? 'accepted' : `${w.errno} at byte ${w.at}`,
    );
    if (w.ok) {
      ctx.expectOutcome('RESUMING → STOP after the whole stream', 'success', ctx.raw.setState('STOP').result);
      const g = ctx.raw.getState();
      ctx.expect('state after loading', 'STOP', g.result.ok ? g.state : g.result.errno);
    }

    if (!stream.length) return;
    const corrupted = Buffer.from(stream);
    for (let i = 0; i < Math.min(16, corrupted.length); i++) corrupted[i]! ^= 0xff;
    const bad = ctx.reachWithFd('RESUMING').fd;
    const wrote = ctx.writeStream(bad, corrupted);
    const finish = wrote.ok ? ctx.raw.setState('STOP').result : null;
    const refused = !wrote.ok || (finish !== null && !finish.ok);
    ctx.expect(
      'a stream with its first 16 bytes inverted',
      'refused (a write or RESUMING → STOP fails)',
      refused ? 'refused (a write or RESUMING → STOP fails)' : 'accepted',
    );
    ctx.expectOutcome('VFIO_DEVICE_RESET after the refused stream', 'success', ctx.raw.reset());
    const g = ctx.raw.getState();
    ctx.expect('state after the reset', ctx.spec.fsm.initial, g.result.ok ? g.state : g.result.errno);
  },
};

/**
 * A failed request leaves the device on its path or in ERROR; ERROR refuses every request and only a
 * reset leaves it. Failures are provoked with a corrupted resume, and with any request the device fails.
 */
export const errorReset: Check = {
  rule: 'mig.state.error_reset',
  run(ctx) {
    const fsm = ctx.spec.fsm;
    const failed: { from: string; to: string; path: readonly string[] }[] = [];
    // A corrupted stream makes RESUMING → STOP fail on every driver that validates.
    const stream = ctx.sourceStreamOrEmpty();
    if (stream.length) {
      const { fd } = ctx.reachWithFd('RESUMING');
      const bad = Buffer.from(stream);
      for (let i = 0; i < Math.min(16, bad.length); i++) bad[i]! ^= 0xff;
      ctx.writeStream(fd, bad); // some drivers refuse the bytes already (mtty: EFAULT), others at STOP
      const r = ctx.raw.setState('STOP');
      if (!r.result.ok) failed.push({ from: 'RESUMING', to: 'STOP', path: ['STOP'] });
      if (!failed.length) ctx.note('a corrupted stream was not refused at RESUMING → STOP (see stream.resume)');
      else judge(ctx, failed[0]!);
    }
    // Any request of the state machine that fails is judged the same way.
    for (const from of ctx.states())
      for (const to of ctx.states()) {
        const path = fsm.paths[ctx.caps]![from]![to];
        if (!path || !path.length) continue;
        ctx.reachLoaded(from, stream);
        const r = ctx.raw.setState(to);
        if (!r.result.ok) judge(ctx, { from, to, path });
      }
    if (!failed.length && !ctx.mismatches.length) ctx.note('no request failed, so ERROR was never entered');
  },
};

function judge(ctx: CheckContext, f: { from: string; to: string; path: readonly string[] }): void {
  const fsm = ctx.spec.fsm;
  const g = ctx.raw.getState();
  const landed = g.result.ok ? g.state : `GET failed: ${g.result.errno}`;
  const allowed = [f.from, ...f.path, fsm.error];
  ctx.expect(
    `state after the failed ${f.from} → ${f.to}`,
    `one of ${allowed.join(', ')}`,
    allowed.includes(landed) ? `one of ${allowed.join(', ')}` : landed,
  );
  if (landed === fsm.error) {
    ctx.note(`${f.from} → ${f.to} failed into ${fsm.error}`);
    for (const to of ctx.states()) {
      const r = ctx.raw.setState(to);
      ctx.expect(`SET ${to} while in ${fsm.error}`, 'refused', r.result.ok ? 'accepted' : 'refused');
      const again = ctx.raw.getState();
      ctx.expect(
        `state after SET ${to} in ${fsm.error}`,
        fsm.error,
        again.result.ok ? again.state : again.result.errno,
      );
    }
  }
  ctx.expectOutcome(`VFIO_DEVICE_RESET after the failed ${f.from} → ${f.to}`, 'success', ctx.raw.reset());
  const after = ctx.raw.getState();
  ctx.expect(`state after the reset`, fsm.initial, after.result.ok ? after.state : after.result.errno);
}
