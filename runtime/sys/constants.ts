/** Linux flag values (x86_64 / asm-generic) used with the libc binding. */

export const O_RDONLY = 0o0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_NONBLOCK = 0o4000;
export const O_ACCMODE = 0o3;
/** open(2) of a folder with this gives an unnamed file in it (__O_TMPFILE | O_DIRECTORY). */
export const O_TMPFILE = 0o20200000;
export const AT_FDCWD = -100;
export const AT_SYMLINK_FOLLOW = 0x400;
/** send/recv flags: this call only does not wait; no SIGPIPE when the peer has gone (EPIPE instead). */
export const MSG_DONTWAIT = 0x40;
export const MSG_NOSIGNAL = 0x4000;
export const O_CLOEXEC = 0o2000000;

export const F_GETFD = 1;
export const F_SETFD = 2;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const F_SETPIPE_SZ = 1031;
/** vmsplice/splice flag: return EAGAIN instead of waiting for pipe space. */
export const SPLICE_F_NONBLOCK = 2;
export const F_GETPIPE_SZ = 1032;
export const FD_CLOEXEC = 1;

export const SEEK_SET = 0;
export const SEEK_CUR = 1;

export const POLLIN = 0x1;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLNVAL = 0x20;
/** sizeof(struct pollfd): int fd; short events; short revents. */
export const POLLFD_SIZE = 8;

/** ioctl asking how many bytes a pipe or socket holds (an int written through the pointer). */
export const FIONREAD = 0x541b;
