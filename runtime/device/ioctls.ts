/**
 * The generated typed ioctl wrappers, bound once to the runtime's libc binding. Every ioctl the runtime
 * issues goes through here, and is counted, so tests can prove that a refused call never reached the kernel.
 */
import { bindIoctls } from '../../generated/koffi.js';
import { ioctl, lastErrno, type PointerArg } from '../sys/index.js';

let issued = 0;

/** ioctl(2) through the shared binding, counted. */
export function countedIoctl(fd: number, request: number, arg: PointerArg): number {
  issued++;
  return ioctl(fd, request, arg);
}

/** How many ioctls the runtime has issued in this thread so far. */
export function ioctlsIssued(): number {
  return issued;
}

export const vfio = bindIoctls({ ioctl: countedIoctl, errno: () => lastErrno() || 5 });
