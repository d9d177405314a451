/**
 * Reads and writes the trapped thread's memory with process_vm_readv/writev. A bad pointer makes the call
 * fail (EFAULT) instead of crashing anything, which is exactly what the emulated ioctl should return.
 */
import { addressOf, lastErrno, processVmReadv, processVmWritev } from '../../sys/libc.js';
import { Errno } from '../../sys/errno.js';

export class CallerMemory {
  private readonly localIov = Buffer.alloc(16);
  private readonly remoteIov = Buffer.alloc(16);

  /**
   * Copies `into.length` bytes from the caller's address `addr` into `into`.
   * Returns 0 on success or a positive errno (EFAULT when any byte is unreadable).
   */
  readInto(pid: number, addr: bigint, into: Buffer): number {
    if (into.length === 0) return 0;
    this.prepare(into, addr);
    const n = processVmReadv(pid, this.localIov, this.remoteIov);
    if (n < 0) return lastErrno() === Errno.ESRCH ? Errno.ESRCH : Errno.EFAULT;
    return n === into.length ? 0 : Errno.EFAULT;
  }

  /** Copies `from` to the caller's address `addr`. Returns 0 or a positive errno (EFAULT for a bad pointer). */
  write(pid: number, addr: bigint, from: Buffer): number {
    if (from.length === 0) return 0;
    this.prepare(from, addr);
    const n = processVmWritev(pid, this.localIov, this.remoteIov);
    if (n < 0) return lastErrno() === Errno.ESRCH ? Errno.ESRCH : Errno.EFAULT;
    return n === from.length ? 0 : Errno.EFAULT;
  }

  private prepare(local: Buffer, remote: bigint): void {
    this.localIov.writeBigUInt64LE(addressOf(local), 0);
    this.localIov.writeBigUInt64LE(BigInt(local.length), 8);
    this.remoteIov.writeBigUInt64LE(remote, 0);
    this.remoteIov.writeBigUInt64LE(BigInt(local.length), 8);
  }
}
