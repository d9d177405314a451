/**
 * Numbers from the Linux seccomp uAPI (x86_64), and the byte layouts of the structs we exchange with
 * the notification fd. Values are facts from linux/seccomp.h, linux/filter.h and the x86_64 syscall table.
 */

export const AUDIT_ARCH_X86_64 = 0xc000003e;

/** x86_64 syscall numbers the filter looks at or the supervisor issues. */
export const SyscallNr = {
  read: 0,
  write: 1,
  close: 3,
  fstat: 5,
  lseek: 8,
  ioctl: 16,
  pread64: 17,
  pwrite64: 18,
  readv: 19,
  writev: 20,
  fcntl: 72,
  prctl: 157,
  seccomp: 317,
} as const;
export type TrappedSyscallName = keyof typeof SyscallNr;

export const PR_SET_NO_NEW_PRIVS = 38;

export const SECCOMP_SET_MODE_FILTER = 1;
export const SECCOMP_GET_NOTIF_SIZES = 3;
export const SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3;
export const SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV = 1 << 5;

export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;

export const SECCOMP_USER_NOTIF_FLAG_CONTINUE = 1;
export const SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP = 1;
export const SECCOMP_ADDFD_FLAG_SETFD = 1;
export const SECCOMP_ADDFD_FLAG_SEND = 2;

// Notification-fd ioctls: type '!' (0x21), encoded with the generic _IOC layout.
export const SECCOMP_IOCTL_NOTIF_RECV = 0xc0502100; // _IOWR('!', 0, struct seccomp_notif)
export const SECCOMP_IOCTL_NOTIF_SEND = 0xc0182101; // _IOWR('!', 1, struct seccomp_notif_resp)
export const SECCOMP_IOCTL_NOTIF_ID_VALID = 0x40082102; // _IOW('!', 2, __u64)
export const SECCOMP_IOCTL_NOTIF_ADDFD = 0x40182103; // _IOW('!', 3, struct seccomp_notif_addfd)
export const SECCOMP_IOCTL_NOTIF_SET_FLAGS = 0x40082104; // _IOW('!', 4, __u64), flags passed by value

/** struct seccomp_notif: id u64 @0, pid u32 @8, flags u32 @12, data (struct seccomp_data) @16. */
export const NotifLayout = { size: 80, id: 0, pid: 8, flags: 12, nr: 16, arch: 20, ip: 24, args: 32 } as const;
/** struct seccomp_notif_resp: id u64 @0, val s64 @8, error s32 @16, flags u32 @20. */
export const NotifRespLayout = { size: 24, id: 0, val: 8, error: 16, flags: 20 } as const;
/** struct seccomp_notif_addfd: id u64 @0, flags u32 @8, srcfd u32 @12, newfd u32 @16, newfd_flags u32 @20. */
export const NotifAddfdLayout = { size: 24, id: 0, flags: 8, srcfd: 12, newfd: 16, newfdFlags: 20 } as const;
/** struct seccomp_data, as the BPF program sees it: nr @0, arch @4, ip @8, args[i] @16+8i (low half first). */
export const SeccompDataLayout = { nr: 0, arch: 4, args: 16 } as const;

/** The VFIO (and iommufd) ioctl type byte, ';'. */
export const VFIO_IOCTL_TYPE = 0x3b;
