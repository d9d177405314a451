/**
 * The migration data fd: read/write/ioctl/positioned calls on the fds SET MIG_DEVICE_STATE handed out.
 * Saving reads run through the pipe (CONTINUE) while bytes are there; at the end the model answers ENOMSG
 * (temporary end in PRE_COPY*, per personality) or 0. Resuming writes are taken synchronously so a bad stream
 * fails the write that carries it.
 */
import { decodeVfioPrecopyInfo, encodeVfioPrecopyInfo } from '../../generated/codecs.js';
import { VFIO_MIG_GET_PRECOPY_INFO, VfioPrecopyInfoFlags } from '../../generated/constants.js';
import { isAllowed } from '../../generated/validators.js';
import { Errno, errnoNumber } from '../sys/errno.js';
import { read as sysRead } from '../sys/libc.js';
import type { DataSession, SavingSession } from './data-session.js';
import type { DeviceModel } from './device-model.js';
import type { DataFdTag } from './migration.js';
import { SHORT_READ_BYTES } from './quirks.js';
import {
  CONTINUE,
  fail,
  value,
  type Answer,
  type IoctlCall,
  type TrappedCall,
  type TransferCall,
} from './seccomp/handler.js';

const view = (b: Buffer) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const shortReadScratch = Buffer.allocUnsafe(SHORT_READ_BYTES);

function isCurrent(device: DeviceModel, session: DataSession): boolean {
  return !session.ended && device.session === session;
}

export function dataFdIoctl(call: IoctlCall, { device, session }: DataFdTag): Answer {
  // Drivers give their resuming file no ioctl op at all (mtty, mlx5, hisi_acc), so the VFS answers ENOTTY to
  // any request there, in any state, before a driver could look at it (real mtty on 6.12 did).
  if (session.kind === 'resuming') return fail(Errno.ENOTTY);
  if (call.request !== VFIO_MIG_GET_PRECOPY_INFO) return fail(Errno.ENOTTY); // precopy.args.cmd
  if (device.quirks.has('no-precopy-info')) return fail(Errno.ENOTTY);
  if (!isCurrent(device, session)) return fail(Errno.ENODEV); // mig.fd.ended
  const info = decodeVfioPrecopyInfo(view(call.readMem(call.arg, 24)));
  if (info.argsz < 24) return fail(Errno.EINVAL); // precopy.args.argsz
  const guard = isAllowed('VFIO_MIG_GET_PRECOPY_INFO', 'migration_data', device.state);
  const allowedAnyway = device.quirks.has('precopy-info-in-stop-copy') && device.state === 'STOP_COPY';
  if (!guard.allowed && !allowedAnyway) return fail(errnoNumber(guard.errno)); // precopy.valid_states
  const consumed = session.consumed();
  const reinit = session.behaviour.onPrecopyQuery(device.state, device.precopyV2, consumed);
  const counts = session.stream.precopyCounts(consumed);
  // Before the v2 opt-in `flags` is reserved: older drivers never wrote it, so the caller's value comes back.
  const flags = device.precopyV2 ? (reinit ? VfioPrecopyInfoFlags.REINIT : 0) : info.flags;
  const dirty = device.quirks.has('dirty-bytes-always-zero') ? 0 : counts.dirty;
  const out = Buffer.alloc(24);
  encodeVfioPrecopyInfo(
    { argsz: info.argsz, flags, initial_bytes: BigInt(counts.initial), dirty_bytes: BigInt(dirty) },
    view(out),
  );
  call.writeMem(call.arg, out);
  return value(0);
}

export function dataFdRead(call: TransferCall, { device, session }: DataFdTag): Answer {
  if (session.kind !== 'saving') return fail(Errno.EBADF); // mig.fd.direction
  if (session.ended) return fail(Errno.ENODEV);
  const injected = device.faults.takeTransferErrno('read');
  if (injected) return fail(Errno[injected]);
  if (session.stream.limit !== Infinity && session.consumed() >= session.stream.limit) {
    // close-data-fd-early: the session dies under the reader.
    if (device.session === session) device.endSession();
    else session.end();
    return fail(Errno.ENODEV);
  }
  if (!session.atEnd()) return device.quirks.has('short-reads') ? shortRead(call, session) : CONTINUE;
  const inStopCopy = device.state === 'STOP_COPY' && isCurrent(device, session);
  if (inStopCopy) {
    if (device.quirks.has('enomsg-in-stop-copy') && !session.stopCopyEnomsgGiven) {
      session.stopCopyEnomsgGiven = true;
      return fail(Errno.ENOMSG);
    }
    return value(0); // stream.eof: the permanent end
  }
  return device.personality.precopyEnd === 'ENOMSG' ? fail(Errno.ENOMSG) : value(0);
}

/** Answers the read ourselves with fewer bytes than asked (taken from the pipe, so accounting still holds). */
function shortRead(call: TransferCall, session: SavingSession): Answer {
  session.pipe.service();
  const n = Math.min(call.count, SHORT_READ_BYTES, session.pipe.buffered());
  if (n <= 0) return CONTINUE;
  const got = sysRead(session.pipe.callerEnd, shortReadScratch, n);
  if (got <= 0) return CONTINUE;
  call.writeMem(call.buffer, shortReadScratch.subarray(0, got));
  session.pipe.service();
  return value(got);
}

export function dataFdWrite(call: TransferCall, { device, session }: DataFdTag): Answer {
  if (session.kind !== 'resuming') return fail(Errno.EBADF);
  if (session.ended) return fail(Errno.ENODEV);
  const injected = device.faults.takeTransferErrno('write');
  if (injected) return fail(Errno[injected]);
  if (session.failure) return fail(errnoNumber(session.failure));
  if (call.count === 0) return value(0);
  if (session.received + call.count > session.behaviour.maxBytes) return fail(Errno.ENOMEM);
  const chunk = call.readMem(call.buffer, call.count);
  const problem = session.behaviour.accept(chunk);
  if (problem) {
    if (session.behaviour.failuresStick) session.failure = problem;
    else session.received += chunk.length; // mtty keeps the refused bytes (see personalities/mtty.ts)
    return fail(errnoNumber(problem));
  }
  session.received += chunk.length;
  return value(chunk.length);
}

/** lseek/pread/pwrite and friends: data fds are streams. */
export function dataFdOther(call: TrappedCall, { session }: DataFdTag): Answer {
  if (call.syscall === 'lseek' || call.syscall === 'pread64' || call.syscall === 'pwrite64') return fail(Errno.ESPIPE);
  if (call.syscall === 'readv' || call.syscall === 'writev') return fail(session.ended ? Errno.ENODEV : Errno.EINVAL);
  return CONTINUE;
}

export function dataFdClosed({ device, session }: DataFdTag): void {
  session.callerFdOpen = false;
  device.openSessions.delete(session);
}
