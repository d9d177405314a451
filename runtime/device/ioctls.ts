/**
 * The generated typed ioctl wrappers, bound once to the runtime's libc binding. Every ioctl the runtime
 * issues goes through here, and is counted, so tests can prove that a refused call never reached the kernel.
 */
import koffi from 'koffi';
import { bindIoctls } from '../../generated/koffi.js';
import { ioctl, lastErrno, libc, type PointerArg } from '../sys/index.js';

/** Ioctls issued in this thread; hot paths bump it inline instead of calling through countedIoctl. */
export const ioctlCount = { issued: 0 };

/** ioctl(2) through the shared binding, counted. */
export function countedIoctl(fd: number, request: number, arg: PointerArg): number {
  ioctlCount.issued++;
  return ioctl(fd, request, arg);
}

/** How many ioctls the runtime has issued in this thread so far. */
export function ioctlsIssued(): number {
  return ioctlCount.issued;
}

export const vfio = bindIoctls({ ioctl: countedIoctl, errno: () => lastErrno() || 5 });

/**
 * For the one hot call (MigrationSession.queryPrecopyInfo): the koffi function itself, on the same libc
 * handle, with no wrapper in between. Callers count it in `ioctlCount` and read `threadErrno` on failure.
 */
export const ioctlDirect = libc.func('int ioctl(int fd, unsigned long request, void *arg)') as (
  fd: number,
  request: number,
  arg: Buffer,
) => number;

/**
 * This thread's errno, as a view over glibc's thread-local errno slot: reading it is a memory load instead
 * of a koffi.errno() call (~30 ns, 15% of an ENOTTY ioctl here). Valid right after a failed call, before
 * any other native call; each thread evaluates this module and gets its own slot.
 */
export const threadErrno = new Int32Array(
  koffi.view((libc.func('void *__errno_location(void)') as () => bigint)(), 4) as ArrayBuffer,
);
