import { closeSync, openSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  Errno,
  errnoMeaning,
  errnoName,
  errnoNumber,
  F_GETPIPE_SZ,
  FIONREAD,
  ioctl,
  ioctlOrThrow,
  lastErrno,
  pipe2OrThrow,
  read,
  SysError,
  write,
  fcntl,
  close,
  O_CLOEXEC,
} from '../../runtime/sys/index.js';

describe('raw koffi ioctl', () => {
  it('gives ENOTTY for a VFIO request on /dev/null, with errno read right after the call', () => {
    const fd = openSync('/dev/null', 'r+');
    try {
      expect(ioctl(fd, 0x3b79, Buffer.alloc(24))).toBe(-1);
      expect(lastErrno()).toBe(Errno.ENOTTY);
      expect(errnoName(lastErrno())).toBe('ENOTTY');
      // By-value argument (VFIO_CHECK_EXTENSION style) goes through the same void* prototype.
      expect(ioctl(fd, 0x3b65, 1)).toBe(-1);
      expect(lastErrno()).toBe(Errno.ENOTTY);
    } finally {
      closeSync(fd);
    }
  });

  it('throws a SysError naming the call and the errno in words', () => {
    const fd = openSync('/dev/null', 'r+');
    try {
      let caught: unknown;
      try {
        ioctlOrThrow(fd, 0x3b79, Buffer.alloc(24), 'VFIO_MIG_GET_PRECOPY_INFO');
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(SysError);
      const e = caught as SysError;
      expect(e).toMatchObject({ errno: 25, errnoName: 'ENOTTY' });
      expect(e.call).toBe(`ioctl(fd ${fd}, VFIO_MIG_GET_PRECOPY_INFO)`);
      expect(e.message).toContain('ENOTTY (25, this ioctl is not supported on this file)');
    } finally {
      closeSync(fd);
    }
  });

  it('passes Buffers zero-copy: FIONREAD writes the pipe byte count into the caller Buffer', () => {
    const [r, w] = pipe2OrThrow(O_CLOEXEC);
    try {
      expect(write(w, Buffer.from('hello'))).toBe(5);
      const count = Buffer.alloc(4);
      expect(ioctl(r, FIONREAD, count)).toBe(0);
      expect(count.readInt32LE(0)).toBe(5);
      expect(fcntl(w, F_GETPIPE_SZ)).toBeGreaterThan(0);
      const into = Buffer.alloc(8);
      expect(read(r, into)).toBe(5);
      expect(into.subarray(0, 5).toString()).toBe('hello');
    } finally {
      close(r);
      close(w);
    }
    expect(read(r, Buffer.alloc(1))).toBe(-1);
    expect(lastErrno()).toBe(Errno.EBADF);
  });
});

describe('errno names', () => {
  it('covers EPERM..ERANGE and the VFIO-relevant numbers, including ENOMSG which libuv cannot name', () => {
    for (let n = 1; n <= 34; n++) expect(errnoName(n)).toMatch(/^E[A-Z0-9]+$/);
    const expected: Record<string, number> = {
      ENOMSG: 42,
      ENOTTY: 25,
      ESPIPE: 29,
      ENODEV: 19,
      EOVERFLOW: 75,
      E2BIG: 7,
      EOPNOTSUPP: 95,
      EAGAIN: 11,
      EINTR: 4,
      EBADF: 9,
      EFAULT: 14,
      ENOMEM: 12,
      EBUSY: 16,
      ENOENT: 2,
      ENOSPC: 28,
      EMSGSIZE: 90,
      ERANGE: 34,
      EPERM: 1,
    };
    for (const [name, num] of Object.entries(expected)) {
      expect(errnoNumber(name)).toBe(num);
      expect(errnoName(num)).toBe(name);
    }
    expect(errnoNumber('EWOULDBLOCK')).toBe(11);
    expect(errnoMeaning(42)).toMatch(/temporary end/);
    expect(errnoName(4000)).toBe('E#4000');
    expect(() => errnoNumber('ENOPE')).toThrow(/unknown errno/);
  });
});
