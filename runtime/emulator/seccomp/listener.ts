/**
 * The supervisor's side of the notification fd: receive a trapped syscall, answer it, install fds into the
 * trapped process. All calls are synchronous koffi ioctls on reused buffers (no allocation per notification).
 */
import { SysError } from '../../sys/errors.js';
import { Errno } from '../../sys/errno.js';
import { ioctl, lastErrno } from '../../sys/libc.js';
import {
  NotifAddfdLayout,
  NotifLayout,
  NotifRespLayout,
  SECCOMP_ADDFD_FLAG_SEND,
  SECCOMP_ADDFD_FLAG_SETFD,
  SECCOMP_IOCTL_NOTIF_ADDFD,
  SECCOMP_IOCTL_NOTIF_ID_VALID,
  SECCOMP_IOCTL_NOTIF_RECV,
  SECCOMP_IOCTL_NOTIF_SEND,
  SECCOMP_IOCTL_NOTIF_SET_FLAGS,
  SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP,
  SECCOMP_USER_NOTIF_FLAG_CONTINUE,
} from './constants.js';

/** One trapped syscall, decoded. Reused between notifications: copy what you keep. */
export interface Notification {
  id: bigint;
  /** Thread id of the caller (usable with /proc/<pid>/fd and process_vm_readv). */
  pid: number;
  nr: number;
  /** The six raw arguments as unsigned 64-bit values. */
  args: [bigint, bigint, bigint, bigint, bigint, bigint];
}

export class NotificationListener {
  readonly fd: number;
  private readonly notifBuf = Buffer.alloc(NotifLayout.size);
  private readonly respBuf = Buffer.alloc(NotifRespLayout.size);
  private readonly addfdBuf = Buffer.alloc(NotifAddfdLayout.size);
  private readonly idBuf = Buffer.alloc(8);
  private readonly notification: Notification = { id: 0n, pid: 0, nr: 0, args: [0n, 0n, 0n, 0n, 0n, 0n] };

  constructor(fd: number) {
    this.fd = fd;
  }

  /** Asks the kernel to wake the caller on the supervisor's CPU (6.6+); quietly ignored on older kernels. */
  enableSyncWakeUp(): boolean {
    return ioctl(this.fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) === 0;
  }

  /**
   * Receives the next notification. Returns null when the caller went away between poll and receive
   * (ENOENT) or a signal interrupted us; throws on anything else.
   */
  receive(): Notification | null {
    const buf = this.notifBuf;
    buf.fill(0); // the kernel insists on a zeroed struct
    if (ioctl(this.fd, SECCOMP_IOCTL_NOTIF_RECV, buf) < 0) {
      const errno = lastErrno();
      if (errno === Errno.ENOENT || errno === Errno.EINTR) return null;
      throw new SysError('ioctl(seccomp listener, NOTIF_RECV)', errno);
    }
    const n = this.notification;
    n.id = buf.readBigUInt64LE(NotifLayout.id);
    n.pid = buf.readUInt32LE(NotifLayout.pid);
    n.nr = buf.readInt32LE(NotifLayout.nr);
    for (let i = 0; i < 6; i++) n.args[i] = buf.readBigUInt64LE(NotifLayout.args + 8 * i);
    return n;
  }

  /** Completes the syscall with a return value. Returns false if the caller is gone. */
  sendValue(id: bigint, value: number): boolean {
    return this.send(id, value, 0, 0);
  }

  /** Fails the syscall with a positive errno. */
  sendErrno(id: bigint, errno: number): boolean {
    return this.send(id, 0, -errno, 0);
  }

  /** Lets the kernel run the syscall as if it had not been trapped. */
  sendContinue(id: bigint): boolean {
    return this.send(id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
  }

  private send(id: bigint, value: number, error: number, flags: number): boolean {
    const buf = this.respBuf;
    buf.writeBigUInt64LE(id, NotifRespLayout.id);
    buf.writeBigInt64LE(BigInt(value), NotifRespLayout.val);
    buf.writeInt32LE(error, NotifRespLayout.error);
    buf.writeUInt32LE(flags, NotifRespLayout.flags);
    if (ioctl(this.fd, SECCOMP_IOCTL_NOTIF_SEND, buf) === 0) return true;
    if (lastErrno() === Errno.ENOENT) return false; // the caller was killed or its wait interrupted
    throw new SysError('ioctl(seccomp listener, NOTIF_SEND)', lastErrno());
  }

  /**
   * Copies `srcFd` (ours) into the caller. With `at` it lands on that number (replacing whatever is there);
   * with `completeSyscall` the trapped syscall returns the new fd number and needs no further answer.
   * Returns the caller's fd number, or -errno.
   */
  addFd(id: bigint, srcFd: number, opts: { at?: number; cloexec?: boolean; completeSyscall?: boolean }): number {
    const buf = this.addfdBuf;
    let flags = 0;
    if (opts.at !== undefined) flags |= SECCOMP_ADDFD_FLAG_SETFD;
    if (opts.completeSyscall) flags |= SECCOMP_ADDFD_FLAG_SEND;
    buf.writeBigUInt64LE(id, NotifAddfdLayout.id);
    buf.writeUInt32LE(flags, NotifAddfdLayout.flags);
    buf.writeUInt32LE(srcFd, NotifAddfdLayout.srcfd);
    buf.writeUInt32LE(opts.at ?? 0, NotifAddfdLayout.newfd);
    buf.writeUInt32LE(opts.cloexec === false ? 0 : 0o2000000, NotifAddfdLayout.newfdFlags);
    const ret = ioctl(this.fd, SECCOMP_IOCTL_NOTIF_ADDFD, buf);
    return ret < 0 ? -lastErrno() : ret;
  }

  /** True while the notification still waits for our answer (the caller has not died or been replaced). */
  isStillValid(id: bigint): boolean {
    this.idBuf.writeBigUInt64LE(id);
    return ioctl(this.fd, SECCOMP_IOCTL_NOTIF_ID_VALID, this.idBuf) === 0;
  }
}
