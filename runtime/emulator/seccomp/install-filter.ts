/**
 * Installs the trapping filter on the calling thread (and the threads it creates later) and returns the
 * notification listener fd. Filters stack and can never be removed, so this happens once per process; later
 * callers get the same listener back.
 */
import { isSysError } from '../../sys/errors.js';
import { addressOf, prctlOrThrow, syscallOrThrow } from '../../sys/libc.js';
import { buildFilter, type FilterPlan } from './bpf.js';
import {
  PR_SET_NO_NEW_PRIVS,
  SECCOMP_FILTER_FLAG_NEW_LISTENER,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
  SECCOMP_GET_NOTIF_SIZES,
  SECCOMP_SET_MODE_FILTER,
  SyscallNr,
} from './constants.js';

export interface InstalledFilter {
  listenerFd: number;
  plan: FilterPlan;
}

let installed: InstalledFilter | undefined;

/**
 * Filters are inherited across fork and exec, and a process may have only one filter with a listener in its
 * chain: a child spawned after its parent started an emulator cannot start its own (EBUSY). Its trapped
 * syscalls go to the parent's supervisor, which lets them through untouched.
 */
export class InheritedFilterError extends Error {
  constructor() {
    super(
      "cannot start the emulator: this process inherited an emulator's seccomp filter from its parent " +
        '(seccomp NEW_LISTENER: EBUSY); start the emulator before spawning, or spawn from a process without one',
    );
    this.name = 'InheritedFilterError';
  }
}

export function installedFilter(): InstalledFilter | undefined {
  return installed;
}

export function installFilterOnce(plan: FilterPlan): InstalledFilter {
  if (installed) {
    const p = installed.plan;
    if (p.reservedFdFirst !== plan.reservedFdFirst || p.reservedFdCount !== plan.reservedFdCount) {
      throw new Error(
        `the seccomp filter of this process already reserves fds ${p.reservedFdFirst}..` +
          `${p.reservedFdFirst + p.reservedFdCount - 1}; a filter cannot be replaced once installed`,
      );
    }
    return installed;
  }
  const program = buildFilter(plan);
  const fprog = Buffer.alloc(16); // struct sock_fprog { u16 len; <pad>; struct sock_filter *filter; }
  fprog.writeUInt16LE(program.length / 8, 0);
  fprog.writeBigUInt64LE(addressOf(program), 8);
  // Without NO_NEW_PRIVS only CAP_SYS_ADMIN may install filters; with it, anyone can.
  prctlOrThrow(PR_SET_NO_NEW_PRIVS, 1);
  let listenerFd: number;
  try {
    listenerFd = syscallOrThrow(
      'seccomp(SET_MODE_FILTER)',
      SyscallNr.seccomp,
      SECCOMP_SET_MODE_FILTER,
      SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
      fprog,
    );
  } catch (e) {
    // We install once per process, so a listener already in the chain can only come from an ancestor.
    if (isSysError(e, 'EBUSY')) throw new InheritedFilterError();
    throw e;
  }
  installed = { listenerFd, plan };
  return installed;
}

/** Struct sizes the running kernel uses for notifications (80/24/64 on 6.x x86_64). */
export function notificationSizes(): { notif: number; resp: number; data: number } {
  const sizes = Buffer.alloc(6);
  syscallOrThrow('seccomp(GET_NOTIF_SIZES)', SyscallNr.seccomp, SECCOMP_GET_NOTIF_SIZES, 0, sizes);
  return { notif: sizes.readUInt16LE(0), resp: sizes.readUInt16LE(2), data: sizes.readUInt16LE(4) };
}
