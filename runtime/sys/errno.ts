/**
 * Linux errno numbers (x86_64 / asm-generic values) with their names and a plain-words meaning.
 * libuv's table has no name for ENOMSG (42), which VFIO data fds return, so we keep our own.
 */

const errnoTable: ReadonlyArray<readonly [name: string, number: number, meaning: string]> = [
  ['EPERM', 1, 'operation not permitted'],
  ['ENOENT', 2, 'no such file or directory'],
  ['ESRCH', 3, 'no such process'],
  ['EINTR', 4, 'interrupted by a signal'],
  ['EIO', 5, 'input/output error'],
  ['ENXIO', 6, 'no such device or address'],
  ['E2BIG', 7, 'argument too big'],
  ['ENOEXEC', 8, 'not an executable format'],
  ['EBADF', 9, 'bad file descriptor'],
  ['ECHILD', 10, 'no child processes'],
  ['EAGAIN', 11, 'try again (resource temporarily unavailable)'],
  ['ENOMEM', 12, 'out of memory'],
  ['EACCES', 13, 'permission denied'],
  ['EFAULT', 14, 'bad address (a pointer the kernel could not use)'],
  ['ENOTBLK', 15, 'block device required'],
  ['EBUSY', 16, 'device or resource busy'],
  ['EEXIST', 17, 'already exists'],
  ['EXDEV', 18, 'cross-device link'],
  ['ENODEV', 19, 'no such device'],
  ['ENOTDIR', 20, 'not a directory'],
  ['EISDIR', 21, 'is a directory'],
  ['EINVAL', 22, 'invalid argument'],
  ['ENFILE', 23, 'too many open files in the system'],
  ['EMFILE', 24, 'too many open files in this process'],
  ['ENOTTY', 25, 'this ioctl is not supported on this file'],
  ['ETXTBSY', 26, 'text file busy'],
  ['EFBIG', 27, 'file too large'],
  ['ENOSPC', 28, 'no space left'],
  ['ESPIPE', 29, 'this file has no position (seek or positioned I/O on a stream)'],
  ['EROFS', 30, 'read-only file system'],
  ['EMLINK', 31, 'too many links'],
  ['EPIPE', 32, 'broken pipe'],
  ['EDOM', 33, 'argument out of domain'],
  ['ERANGE', 34, 'result out of range'],
  ['EDEADLK', 35, 'deadlock would occur'],
  ['ENAMETOOLONG', 36, 'name too long'],
  ['ENOLCK', 37, 'no locks available'],
  ['ENOSYS', 38, 'system call not implemented'],
  ['ENOTEMPTY', 39, 'directory not empty'],
  ['ELOOP', 40, 'too many symbolic links'],
  ['ENOMSG', 42, 'no data available right now (temporary end of the pre-copy stream)'],
  ['EIDRM', 43, 'identifier removed'],
  ['ENODATA', 61, 'no data available'],
  ['ETIME', 62, 'timer expired'],
  ['EPROTO', 71, 'protocol error'],
  ['EBADMSG', 74, 'not a valid message'],
  ['EOVERFLOW', 75, 'value too large for its type'],
  ['EBADFD', 77, 'file descriptor in bad state'],
  ['ENOTSOCK', 88, 'not a socket'],
  ['EMSGSIZE', 90, 'message too long'],
  ['EOPNOTSUPP', 95, 'operation not supported'],
  ['EADDRINUSE', 98, 'address already in use'],
  ['ECONNRESET', 104, 'connection reset by peer'],
  ['ENOBUFS', 105, 'no buffer space available'],
  ['ENOTCONN', 107, 'not connected'],
  ['ETIMEDOUT', 110, 'timed out'],
  ['ECONNREFUSED', 111, 'connection refused'],
  ['EALREADY', 114, 'operation already in progress'],
  ['EINPROGRESS', 115, 'operation now in progress'],
  ['ESTALE', 116, 'stale file handle'],
  ['ECANCELED', 125, 'operation canceled'],
];

const nameByNumber = new Map<number, string>(errnoTable.map(([name, num]) => [num, name]));
const meaningByNumber = new Map<number, string>(errnoTable.map(([, num, meaning]) => [num, meaning]));
// Aliases resolve to the same numbers (EWOULDBLOCK is EAGAIN, ENOTSUP is EOPNOTSUPP on Linux).
const numberByName = new Map<string, number>([
  ...errnoTable.map(([name, num]) => [name, num] as const),
  ['EWOULDBLOCK', 11],
  ['ENOTSUP', 95],
  ['EDEADLOCK', 35],
]);

export type ErrnoName = string;

/** `errnoName(42)` → `'ENOMSG'`; unknown numbers give `'E#<n>'` so messages never lose the number. */
export function errnoName(errno: number): ErrnoName {
  return nameByNumber.get(errno) ?? `E#${errno}`;
}

/** `errnoNumber('ENOMSG')` → 42; throws for a name we do not know (a typo should not become 0). */
export function errnoNumber(name: ErrnoName): number {
  const n = numberByName.get(name) ?? /^E#(\d+)$/.exec(name)?.[1];
  if (n === undefined) throw new RangeError(`unknown errno name ${name}`);
  return Number(n);
}

/** A short explanation for messages meant for people. */
export function errnoMeaning(errno: number): string {
  return meaningByNumber.get(errno) ?? 'unknown error';
}

/** Numbers used often enough in the runtime and emulator to deserve constants. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  EMFILE: 24,
  ENOTTY: 25,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EPIPE: 32,
  ERANGE: 34,
  ENOSYS: 38,
  ENOMSG: 42,
  EPROTO: 71,
  EBADMSG: 74,
  EOVERFLOW: 75,
  EBADFD: 77,
  EMSGSIZE: 90,
  EOPNOTSUPP: 95,
  EADDRINUSE: 98,
  ECONNRESET: 104,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  ECANCELED: 125,
} as const;

/** The errno of a failed Node call (fs, net: `err.errno` is negative there), EIO when it carries none. */
export function errnoOfError(e: unknown): number {
  const errno = (e as NodeJS.ErrnoException | null)?.errno;
  return typeof errno === 'number' ? Math.abs(errno) : Errno.EIO;
}
