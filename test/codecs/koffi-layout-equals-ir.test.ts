import koffi from 'koffi';
import { beforeAll, describe, expect, it } from 'vitest';
import { KOFFI_STRUCTS, bindIoctls } from '../../generated/koffi.js';
import { loadSpec } from '../../generator/ir/load.js';
import type { Ir } from '../../generator/ir/types.js';

let ir: Ir;
beforeAll(async () => {
  ir = await loadSpec(undefined, { docs: false });
});

describe('koffi struct types match the IR layout', () => {
  it('has the same sizeof, alignof and offsetof for every struct (flexible arrays have no koffi form)', () => {
    expect(Object.keys(KOFFI_STRUCTS).sort()).toEqual(Object.keys(ir.structs).sort());
    for (const [name, s] of Object.entries(ir.structs)) {
      const T = KOFFI_STRUCTS[name as keyof typeof KOFFI_STRUCTS];
      expect([name, koffi.sizeof(T), koffi.alignof(T)]).toEqual([name, s.size, s.align]);
      for (const f of s.fields)
        if (f.ir.kind !== 'flex') expect([name, f.name, koffi.offsetof(T, f.name)]).toEqual([name, f.name, f.offset]);
    }
  });
});

describe('typed ioctl wrappers', () => {
  it('issue the request number and read errno right after the call', () => {
    const calls: [number, number, unknown][] = [];
    const sys = {
      ioctl: (fd: number, req: number, arg: Buffer | number | null) => {
        calls.push([fd, req, arg]);
        return req === 0x3b79 ? -1 : 0;
      },
      errno: () => 22,
    };
    const io = bindIoctls(sys);
    expect(io.VFIO_CHECK_EXTENSION(3, 8)).toEqual({ ok: true, ret: 0 });
    expect(calls[0]).toEqual([3, 0x3b65, 8]);
    const r = io.VFIO_MIG_GET_PRECOPY_INFO_value(9, { argsz: 24, flags: 0, initial_bytes: 0n, dirty_bytes: 0n });
    expect(r.ok).toBe(false);
    expect(r.ok ? 0 : r.errno).toBe(22);
    expect(calls[1]![1]).toBe(0x3b79);
  });

  it('reach the real kernel through koffi: a VFIO ioctl on /dev/null fails with ENOTTY', async () => {
    const libc = koffi.load('libc.so.6');
    const ioctl = libc.func('int ioctl(int fd, unsigned long request, void *arg)');
    const open = libc.func('int open(const char *path, int flags)');
    const close = libc.func('int close(int fd)');
    const fd = open('/dev/null', 0) as number;
    const io = bindIoctls({ ioctl: (f, r, a) => ioctl(f, r, a) as number, errno: () => koffi.errno() });
    const r = io.VFIO_MIG_GET_PRECOPY_INFO_value(fd, { argsz: 24, flags: 0, initial_bytes: 0n, dirty_bytes: 0n });
    close(fd);
    expect(r).toMatchObject({ ok: false, errno: koffi.os.errno.ENOTTY });
  });
});
