/**
 * The one koffi binding of libc used by the whole runtime.
 *
 * Every function is declared with a fixed prototype (never variadic: variadic koffi calls are slower and
 * have no `.async`). Pointer parameters take Buffers zero-copy, a BigInt address, or a plain number for
 * arguments passed by value (`ioctl(fd, VFIO_CHECK_EXTENSION, 1)`).
 *
 * errno is thread-local and the next call may overwrite it, so each wrapper reads `koffi.errno()` right
 * after the call and before any other JS runs. Two flavours:
 *  - raw calls (`ioctl`, `read`, ...) return the C result and leave the errno in `lastErrno()`: no
 *    allocation, for hot paths;
 *  - `...OrThrow` calls throw a `SysError` naming the call.
 */
import koffi from 'koffi';
import { SysError } from './errors.js';

/** The loaded library, exported so other modules declare extra functions on the same handle. */
export const libc = koffi.load('libc.so.6');

/** A pointer argument: a Buffer/TypedArray (zero-copy), an address, a by-value number, or null. */
export type PointerArg = Buffer | ArrayBufferView | bigint | number | null;

type Fn<A extends unknown[], R> = (...args: A) => R;

function declare<A extends unknown[], R>(prototype: string): Fn<A, R> {
  return libc.func(prototype) as Fn<A, R>;
}

const c = {
  ioctl: declare<[number, number, PointerArg], number>('int ioctl(int fd, unsigned long request, void *arg)'),
  open: declare<[string, number, number], number>('int open(const char *path, int flags, int mode)'),
  close: declare<[number], number>('int close(int fd)'),
  read: declare<[number, PointerArg, number], number>('long read(int fd, void *buf, unsigned long count)'),
  write: declare<[number, PointerArg, number], number>('long write(int fd, const void *buf, unsigned long count)'),
  writev: declare<[number, PointerArg, number], number>('long writev(int fd, const void *iov, int iovcnt)'),
  vmsplice: declare<[number, PointerArg, number, number], number>(
    'long vmsplice(int fd, const void *iov, unsigned long nr_segs, unsigned int flags)',
  ),
  pread: declare<[number, PointerArg, number, number], number>(
    'long pread(int fd, void *buf, unsigned long count, int64_t offset)',
  ),
  lseek: declare<[number, number, number], number>('int64_t lseek(int fd, int64_t offset, int whence)'),
  poll: declare<[PointerArg, number, number], number>('int poll(void *fds, unsigned long nfds, int timeout)'),
  // fcntl is variadic in C; an integer third argument is ABI-compatible with this fixed form on x86_64/arm64.
  fcntl: declare<[number, number, number], number>('int fcntl(int fd, int cmd, long arg)'),
  pipe2: declare<[Int32Array, number], number>('int pipe2(_Out_ int *fds, int flags)'),
  // syscall(2) is variadic too; six long-sized slots cover every Linux syscall. Pointers go in as addresses.
  syscall: declare<[number, PointerArg, PointerArg, PointerArg, PointerArg, PointerArg, PointerArg], number>(
    'long syscall(long number, void *a1, void *a2, void *a3, void *a4, void *a5, void *a6)',
  ),
  prctl: declare<[number, number, number, number, number], number>(
    'int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)',
  ),
  processVmReadv: declare<[number, PointerArg, number, PointerArg, number, number], number>(
    'long process_vm_readv(int pid, void *local_iov, unsigned long liovcnt, void *remote_iov, unsigned long riovcnt, unsigned long flags)',
  ),
  processVmWritev: declare<[number, PointerArg, number, PointerArg, number, number], number>(
    'long process_vm_writev(int pid, void *local_iov, unsigned long liovcnt, void *remote_iov, unsigned long riovcnt, unsigned long flags)',
  ),
  readlink: declare<[string, Buffer, number], number>('long readlink(const char *path, void *buf, unsigned long size)'),
  send: declare<[number, PointerArg, number, number], number>(
    'long send(int fd, const void *buf, unsigned long len, int flags)',
  ),
  recv: declare<[number, PointerArg, number, number], number>(
    'long recv(int fd, void *buf, unsigned long len, int flags)',
  ),
  linkat: declare<[number, string, number, string, number], number>(
    'int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)',
  ),
  getpid: declare<[], number>('int getpid()'),
  gettid: declare<[], number>('int gettid()'),
};

let errnoAfterLastCall = 0;

/** errno of the most recent raw call made through this module on this thread (0 when it succeeded). */
export function lastErrno(): number {
  return errnoAfterLastCall;
}

// Raw calls: the C return value, errno captured only on failure (a successful call leaves errno stale).

export function ioctl(fd: number, request: number, arg: PointerArg): number {
  const ret = c.ioctl(fd, request, arg);
  errnoAfterLastCall = ret < 0 ? koffi.errno() : 0;
  return ret;
}

export function read(fd: number, buf: Buffer, length = buf.length): number {
  const ret = c.read(fd, buf, length);
  errnoAfterLastCall = ret < 0 ? koffi.errno() : 0;
  return ret;
}

export function write(fd: number, buf: Buffer, length = buf.length): number {
  const ret = c.write(fd, buf, length);
  errnoAfterLastCall = ret < 0 ? koffi.errno() : 0;
  return ret;
}

/** writev(2); `iov` holds `count` struct iovec {u64 base, u64 len} (see `addressOf`). */
export function writev(fd: number, iov: Buffer, count: number): number {
  const ret = c.writev(fd, iov, count);
  errnoAfterLastCall = ret < 0 ? koffi.errno() : 0;
  return ret;
}

/**
 * vmsplice(2) into a pipe: the pipe references the user pages named by `iov` instead of copying them, so
 * (without SPLICE_F_GIFT) they must stay allocated and unmodified until the reader has consumed them.
 */
export function vmsplice(fd: number, iov: Buffer, count: number, flags: number): number {
  const ret = c.vmsplice(fd, iov, count, flags);
  errnoAfterLastCall = ret < 0 ? koffi.errno() : 0;
  return ret;
}

/** send(2) on a socket; `flags` e.g. MSG_DONTWAIT | MSG_NOSIGNAL (a per-call non-blocking write). */
export function send(fd: number, buf: Buffer, length: number, flags: number): number {
  const ret = c.send(fd, buf, length, flags);
  errnoAfterLastCall = ret < 0 ? koffi.errno() : 0;
  return ret;
}

/** recv(2) on a socket; `flags` e.g. MSG_DONTWAIT (a per-call non-blocking read). */
export function recv(fd: number, buf: Buffer, length: number, flags: number): number {
  const ret = c.recv(fd, buf, length, flags);
  errnoAfterLastCall = ret < 0 ? koffi.errno() : 0;
  return ret;
}

/** linkat(2): with AT_SYMLINK_FOLLOW and `/proc/self/fd/N` it gives an O_TMPFILE file a name. */
export function linkat(oldDir: number, oldPath: string, newDir: number, newPath: string, flags: number): number {
  const ret = c.linkat(oldDir, oldPath, newDir, newPath, flags);
  errnoAfterLastCall = ret < 0 ? koffi.errno() : 0;
  return ret;
}

export function pread(fd: number, buf: Buffer, length: number, offset: number): number {
  const ret = c.pread(fd, buf, length, offset);
  errnoAfterLastCall = ret < 0 ? koffi.errno() : 0;
  return ret;
}

export function poll(pollfds: Buffer, count: number, timeoutMs: number): number {
  const ret = c.poll(pollfds, count, timeoutMs);
  errnoAfterLastCall = ret < 0 ? koffi.errno() : 0;
  return ret;
}

export function fcntl(fd: number, cmd: number, arg = 0): number {
  const ret = c.fcntl(fd, cmd, arg);
  errnoAfterLastCall = ret < 0 ? koffi.errno() : 0;
  return ret;
}

export function close(fd: number): number {
  const ret = c.close(fd);
  errnoAfterLastCall = ret < 0 ? koffi.errno() : 0;
  return ret;
}

export function syscall(
  nr: number,
  a1: PointerArg = 0,
  a2: PointerArg = 0,
  a3: PointerArg = 0,
  a4: PointerArg = 0,
  a5: PointerArg = 0,
  a6: PointerArg = 0,
): number {
  const ret = c.syscall(nr, a1, a2, a3, a4, a5, a6);
  errnoAfterLastCall = ret < 0 ? koffi.errno() : 0;
  return ret;
}

export function processVmReadv(pid: number, localIov: Buffer, remoteIov: Buffer, count = 1): number {
  const ret = c.processVmReadv(pid, localIov, count, remoteIov, count, 0);
  errnoAfterLastCall = ret < 0 ? koffi.errno() : 0;
  return ret;
}

export function processVmWritev(pid: number, localIov: Buffer, remoteIov: Buffer, count = 1): number {
  const ret = c.processVmWritev(pid, localIov, count, remoteIov, count, 0);
  errnoAfterLastCall = ret < 0 ? koffi.errno() : 0;
  return ret;
}

export const getpid: () => number = c.getpid;
export const gettid: () => number = c.gettid;

// Throwing wrappers: for set-up paths where a failure is exceptional.

function check(ret: number, call: () => string): number {
  if (ret < 0) throw new SysError(call(), errnoAfterLastCall);
  return ret;
}

export function ioctlOrThrow(fd: number, request: number, arg: PointerArg, name?: string): number {
  return check(ioctl(fd, request, arg), () => `ioctl(fd ${fd}, ${name ?? '0x' + request.toString(16)})`);
}

export function openOrThrow(path: string, flags: number, mode = 0): number {
  const fd = c.open(path, flags, mode);
  errnoAfterLastCall = fd < 0 ? koffi.errno() : 0;
  return check(fd, () => `open(${path})`);
}

export function closeOrThrow(fd: number): void {
  check(close(fd), () => `close(fd ${fd})`);
}

export function readOrThrow(fd: number, buf: Buffer, length = buf.length): number {
  return check(read(fd, buf, length), () => `read(fd ${fd})`);
}

export function writeOrThrow(fd: number, buf: Buffer, length = buf.length): number {
  return check(write(fd, buf, length), () => `write(fd ${fd})`);
}

export function lseekOrThrow(fd: number, offset: number, whence: number): number {
  const ret = c.lseek(fd, offset, whence);
  errnoAfterLastCall = ret < 0 ? koffi.errno() : 0;
  return check(ret, () => `lseek(fd ${fd})`);
}

export function fcntlOrThrow(fd: number, cmd: number, arg = 0): number {
  return check(fcntl(fd, cmd, arg), () => `fcntl(fd ${fd}, ${cmd})`);
}

export function pollOrThrow(pollfds: Buffer, count: number, timeoutMs: number): number {
  return check(poll(pollfds, count, timeoutMs), () => `poll(${count} fds)`);
}

/** Creates a pipe; returns `[readEnd, writeEnd]`. */
export function pipe2OrThrow(flags = 0): [readEnd: number, writeEnd: number] {
  const fds = new Int32Array(2);
  const ret = c.pipe2(fds, flags);
  errnoAfterLastCall = ret < 0 ? koffi.errno() : 0;
  check(ret, () => 'pipe2()');
  return [fds[0]!, fds[1]!];
}

export function prctlOrThrow(option: number, a2 = 0, a3 = 0, a4 = 0, a5 = 0): number {
  const ret = c.prctl(option, a2, a3, a4, a5);
  errnoAfterLastCall = ret < 0 ? koffi.errno() : 0;
  return check(ret, () => `prctl(${option})`);
}

export function syscallOrThrow(name: string, nr: number, ...args: PointerArg[]): number {
  return check(syscall(nr, ...args), () => `${name}()`);
}

/** readlink(2); returns null when the link does not exist (or is unreadable). */
export function readlinkOrNull(path: string, scratch: Buffer = Buffer.allocUnsafe(4096)): string | null {
  const n = c.readlink(path, scratch, scratch.length);
  errnoAfterLastCall = n < 0 ? koffi.errno() : 0;
  return n < 0 ? null : scratch.toString('utf8', 0, n);
}

/** The address of a Buffer's first byte, for structs that carry pointers (iovec, sock_fprog). */
export function addressOf(buf: Buffer | ArrayBufferView): bigint {
  return koffi.address(buf) as bigint;
}
