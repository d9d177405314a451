/**
 * SET MIG_DEVICE_STATE: ask the generated tables for the path (`checkRequest`), then run it arc by arc, each
 * arc doing what the generated state machine says to the data fd (`arcs[].fd`). Only the final arc's fd
 * effect decides what goes back in `data_fd`; interior arcs never open one (unless the interior-fd quirk).
 */
import { arcs, type Arc } from '../../generated/fsm.js';
import { STATE_NAMES, type StateName } from '../../generated/constants.js';
import { checkRequest } from '../../generated/validators.js';
import { CAPABILITY_BITS } from '../../generated/validators.js';
import { OutgoingStream, ResumingSession, SavingSession, type DataSession } from './data-session.js';
import type { DeviceModel } from './device-model.js';
import type { GatherSink, HandlerEnvironment, IoctlCall } from './seccomp/handler.js';

export type DataFdTag = { kind: 'data'; device: DeviceModel; session: DataSession };

export interface SetStateResult {
  errno?: string;
  dataFd: number;
}

function arcOf(device: DeviceModel, from: StateName, to: StateName): Arc | undefined {
  const flags = device.personality.migrationFlags;
  const has = (c: string) => (flags & (CAPABILITY_BITS[c] ?? 0)) !== 0;
  return arcs.find((a) => a.from === from && a.to === to && a.when.every(has) && !a.unless.some(has));
}

function openSaving(env: HandlerEnvironment, device: DeviceModel, phase: 'pre-copy' | 'stop-copy'): SavingSession {
  const stream = new OutgoingStream();
  const early = device.faults.takeEarlyClose();
  if (early !== undefined) stream.limit = early;
  const behaviour = device.personality.openSaving(stream, phase);
  const source = Object.assign((into: Buffer) => stream.produce(into), {
    gather: (max: number, sink: GatherSink) => stream.gather(max, sink),
  });
  const pipe = env.createSourcePipe(source);
  return new SavingSession(stream, pipe, behaviour);
}

/** Runs one arc; returns an errno name when it fails (the caller decides the state left behind). */
function runArc(
  env: HandlerEnvironment,
  device: DeviceModel,
  arc: Arc,
): { errno: string; state: StateName } | undefined {
  const name = `${arc.from}->${arc.to}`;
  if (
    device.faults.takeArcFailure(arc.from, arc.to) ||
    (device.quirks.has('transition-eio') && device.quirks.failingArc === name)
  ) {
    device.endSession();
    return { errno: 'EIO', state: 'ERROR' };
  }
  switch (arc.fd) {
    case 'opens-saving':
      device.endSession();
      device.session = openSaving(env, device, arc.to === 'STOP_COPY' ? 'stop-copy' : 'pre-copy');
      break;
    case 'opens-resuming':
      device.endSession();
      device.session = new ResumingSession(env.createSinkPipe({ data: () => {} }), device.personality.openResuming());
      break;
    case 'keeps':
      if (arc.to === 'STOP_COPY' && device.session?.kind === 'saving') device.session.behaviour.enterStopCopy();
      break;
    case 'ends': {
      const session = device.session;
      if (session?.kind === 'resuming') {
        const failure =
          session.failure !== undefined
            ? { errno: session.failure, stayInResuming: false }
            : device.quirks.has('resume-rejects')
              ? session.behaviour.rejectWith
              : session.behaviour.finish();
        if (failure) {
          if (failure.stayInResuming) return { errno: failure.errno, state: 'RESUMING' };
          device.endSession();
          return { errno: failure.errno, state: 'ERROR' };
        }
      }
      device.endSession();
      break;
    }
    case 'none':
      break;
  }
  return undefined;
}

function install(call: IoctlCall, device: DeviceModel, session: DataSession): number {
  const fd = call.installFd(session.pipe.callerEnd, {
    tag: { kind: 'data', device, session } satisfies DataFdTag,
    dataPipe: session.pipe,
  });
  session.callerFdOpen = true;
  device.openSessions.add(session);
  return fd;
}

/** Counts SET MIG_DEVICE_STATE requests across every device of this emulator (see DeviceSnapshot.requests). */
let requestSeq = 0;

export function setMigrationState(
  env: HandlerEnvironment,
  call: IoctlCall,
  device: DeviceModel,
  requested: number,
): SetStateResult {
  const to = (STATE_NAMES[requested] ?? `state ${requested}`) as StateName;
  device.requests.push({ seq: ++requestSeq, state: to });
  if (device.requests.length > 64) device.requests.shift();
  const plan = checkRequest(device.capsKey, device.state, to);
  if (!plan.ok) return { errno: plan.errno, dataFd: -1 };
  let opened: DataSession | undefined;
  let interiorSession: DataSession | undefined;
  for (const [i, step] of plan.path.entries()) {
    const arc = arcOf(device, device.state, step);
    if (!arc) return { errno: 'EINVAL', dataFd: -1 }; // the tables and arcs disagree: a spec bug
    const failed = runArc(env, device, arc);
    if (failed) {
      device.state = failed.state;
      return { errno: failed.errno, dataFd: -1 };
    }
    device.state = step;
    const last = i === plan.path.length - 1;
    if (last && (arc.fd === 'opens-saving' || arc.fd === 'opens-resuming')) opened = device.session;
    // interior-fd quirk: a multi-arc request hands out an fd from its first step, which a driver must never do.
    if (!last && i === 0 && device.quirks.has('interior-fd')) interiorSession = openSaving(env, device, 'pre-copy');
  }
  const session = opened ?? interiorSession;
  if (!session) return { dataFd: -1 };
  return { dataFd: install(call, device, session) };
}
