// The only module that touches the kernel directly: libc through koffi with fixed prototypes and Buffers.
// The project's runtime opens devices and drives migration; these prove the kernel facts it has no call for
// (ESPIPE, EBADF, ENODEV on data fds, feature headers it refuses to send) and read device regions.
import koffi from 'koffi';
import { constants } from 'node:os';

export const errno = constants.errno;

/** Every syscall wrapper answers its return value and the errno read right after the call. */
export interface SysResult {
  ret: number;
  errno: number;
}

const libc = koffi.load('libc.so.6');
type IoctlPointer = (fd: number, request: number, arg: Buffer | null) => number;
type IoctlValue = (fd: number, request: number, arg: number) => number;
const cOpen = libc.func('int open(const char *path, int flags)') as (path: string, flags: number) => number;
const cClose = libc.func('int close(int fd)') as (fd: number) => number;
const cDup = libc.func('int dup(int fd)') as (fd: number) => number;
const cIoctlPointer = libc.func('int ioctl(int fd, unsigned long request, void *arg)') as IoctlPointer;
// Same symbol, second prototype: some VFIO ioctls take their argument by value.
const cIoctlValue = libc.func('ioctl', 'int', ['int', 'unsigned long', 'unsigned long']) as IoctlValue;
const cRead = libc.func('int64_t read(int fd, void *buf, size_t count)') as (
  fd: number,
  b: Buffer,
  n: number,
) => number;
const cWrite = libc.func('int64_t write(int fd, const void *buf, size_t count)') as (
  fd: number,
  b: Buffer,
  n: number,
) => number;
const cPread = libc.func('int64_t pread(int fd, void *buf, size_t count, int64_t offset)') as (
  fd: number,
  b: Buffer,
  n: number,
  offset: number | bigint,
) => number;
const cPwrite = libc.func('int64_t pwrite(int fd, const void *buf, size_t count, int64_t offset)') as (
  fd: number,
  b: Buffer,
  n: number,
  offset: number | bigint,
) => number;
const cLseek = libc.func('int64_t lseek(int fd, int64_t offset, int whence)') as (
  fd: number,
  o: number,
  w: number,
) => number;
const cSetAffinity = libc.func('int sched_setaffinity(int pid, size_t size, void *mask)') as (
  pid: number,
  size: number,
  mask: Buffer,
) => number;

function result(ret: number | bigint): SysResult {
  return { ret: Number(ret), errno: Number(ret) < 0 ? koffi.errno() : 0 };
}

export const O_RDWR = 2;

export function open(path: string, flags = O_RDWR): SysResult {
  return result(cOpen(path, flags));
}
export function close(fd: number): SysResult {
  return result(cClose(fd));
}
/** A second fd on the same open file: it outlives the runtime closing the first. */
export function dup(fd: number): SysResult {
  return result(cDup(fd));
}
export function ioctl(fd: number, request: number, arg: Buffer | null = null): SysResult {
  return result(cIoctlPointer(fd, request, arg));
}
export function ioctlValue(fd: number, request: number, value: number): SysResult {
  return result(cIoctlValue(fd, request, value));
}
export function read(fd: number, buffer: Buffer): SysResult {
  return result(cRead(fd, buffer, buffer.length));
}
export function write(fd: number, buffer: Buffer): SysResult {
  return result(cWrite(fd, buffer, buffer.length));
}
export function pread(fd: number, buffer: Buffer, offset: number | bigint): SysResult {
  return result(cPread(fd, buffer, buffer.length, offset));
}
export function pwrite(fd: number, buffer: Buffer, offset: number | bigint): SysResult {
  return result(cPwrite(fd, buffer, buffer.length, offset));
}
export function lseek(fd: number, offset: number, whence: number): SysResult {
  return result(cLseek(fd, offset, whence));
}
/** Pins the calling thread to one CPU. */
export function pinToCpu(cpu: number): SysResult {
  const mask = Buffer.alloc(128);
  mask[cpu >> 3] = 1 << (cpu & 7);
  return result(cSetAffinity(0, mask.length, mask));
}
