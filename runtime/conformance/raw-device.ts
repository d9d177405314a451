/**
 * The device under test, driven by raw calls only: the generated koffi ioctl wrappers over the runtime's
 * libc binding, and read/write/pread/pwrite on data fds. No guards — conformance has to make exactly the
 * calls a guarded runtime would refuse. Every call is logged in words so a failure can show what was done.
 */
import { bindIoctls } from '../../generated/koffi.js';
import { VfioDeviceMigState, VfioDeviceFeatureFlags } from '../../generated/constants.js';
import { close, errnoName, ioctl, lastErrno, libc, pread, read, write, type PointerArg } from '../sys/index.js';
import koffi from 'koffi';

const sys = bindIoctls({ ioctl: (fd, req, arg) => ioctl(fd, req, arg), errno: () => lastErrno() || 5 });

const pwriteRaw = libc.func('long pwrite(int fd, const void *buf, unsigned long count, int64_t offset)') as (
  fd: number,
  buf: Buffer,
  count: number,
  offset: number,
) => number;

/** An outcome in the log's words: `0`, `fd 1003`, `24 bytes`, or an errno name. */
export type CallResult = { ok: true; ret: number } | { ok: false; errno: string };

export const GET = VfioDeviceFeatureFlags.GET;
export const SET = VfioDeviceFeatureFlags.SET;
export const PROBE = VfioDeviceFeatureFlags.PROBE;

export interface FeatureRequest {
  index: number;
  /** GET/SET/PROBE bits and anything else to put in `flags` above the index. */
  bits: number;
  argsz: number;
  /** Payload bytes (copied after the 8-byte header); the buffer is sized to hold max(argsz, 8 + payload). */
  payload?: Buffer;
  /** Pass this raw address instead of a buffer (an unreadable header). */
  rawPointer?: bigint;
  label: string;
}

export class RawDevice {
  /** Every call so far, in words; checks take the part since they started. */
  readonly log: string[] = [];
  /** Data fds handed out by SET MIG_DEVICE_STATE and not closed yet. */
  private readonly dataFds = new Set<number>();

  constructor(
    readonly fd: number,
    readonly label: string,
  ) {}

  private note(what: string, r: CallResult, extra = ''): CallResult {
    this.log.push(`${what} → ${r.ok ? String(r.ret) : r.errno}${extra}`);
    return r;
  }

  /** One VFIO_DEVICE_FEATURE call; returns the result and the whole buffer as the kernel left it. */
  feature(req: FeatureRequest): { result: CallResult; buf: Buffer } {
    const size = Math.max(req.argsz, 8 + (req.payload?.length ?? 0), 8);
    const buf = Buffer.alloc(size);
    buf.writeUInt32LE(req.argsz >>> 0, 0);
    buf.writeUInt32LE((req.index | req.bits) >>> 0, 4);
    req.payload?.copy(buf, 8);
    const ret = req.rawPointer !== undefined ? ioctl(this.fd, 0x3b75, req.rawPointer) : ioctl(this.fd, 0x3b75, buf);
    const r: CallResult = ret < 0 ? { ok: false, errno: errnoName(lastErrno()) } : { ok: true, ret };
    this.note(`FEATURE ${req.label} argsz=${req.argsz}`, r);
    return { result: r, buf };
  }

  getState(): { result: CallResult; state: string; dataFd: number } {
    const payload = Buffer.alloc(8);
    payload.writeUInt32LE(0xffff, 0);
    payload.writeInt32LE(12345, 4); // a value the kernel must overwrite with -1
    const { result, buf } = this.feature({ index: 2, bits: GET, argsz: 16, payload, label: 'GET MIG_DEVICE_STATE' });
    const value = buf.readUInt32LE(8);
    const state = stateName(value);
    const dataFd = buf.readInt32LE(12);
    if (result.ok) this.log[this.log.length - 1] += ` (${state}, data_fd ${dataFd})`;
    return { result, state, dataFd };
  }

  /** SET MIG_DEVICE_STATE by value (so out-of-range values can be sent); a new data fd is remembered. */
  setState(state: string | number): { result: CallResult; dataFd: number } {
    const value = typeof state === 'number' ? state : VfioDeviceMigState[state as keyof typeof VfioDeviceMigState];
    const payload = Buffer.alloc(8);
    payload.writeUInt32LE(value >>> 0, 0);
    payload.writeInt32LE(-1, 4);
    const { result, buf } = this.feature({
      index: 2,
      bits: SET,
      argsz: 16,
      payload,
      label: `SET MIG_DEVICE_STATE ${typeof state === 'number' ? `#${state}` : state}`,
    });
    const dataFd = result.ok ? buf.readInt32LE(12) : -1;
    if (result.ok) this.log[this.log.length - 1] += ` (data_fd ${dataFd})`;
    if (result.ok && dataFd >= 0) this.dataFds.add(dataFd);
    return { result, dataFd };
  }

  reset(): CallResult {
    const r = sys.VFIO_DEVICE_RESET(this.fd);
    return this.note('VFIO_DEVICE_RESET', r.ok ? r : { ok: false, errno: errnoName(r.errno) });
  }

  /** VFIO_MIG_GET_PRECOPY_INFO on a data fd; `flagsIn` is what the caller leaves in `flags`. */
  precopyInfo(
    dataFd: number,
    argsz = 24,
    flagsIn = 0,
  ): { result: CallResult; argsz: number; flags: number; initial: bigint; dirty: bigint } {
    const buf = Buffer.alloc(Math.max(argsz, 24));
    buf.writeUInt32LE(argsz, 0);
    buf.writeUInt32LE(flagsIn >>> 0, 4);
    const r = sys.VFIO_MIG_GET_PRECOPY_INFO(dataFd, buf);
    const out = {
      result: (r.ok ? r : { ok: false, errno: errnoName(r.errno) }) as CallResult,
      argsz: buf.readUInt32LE(0),
      flags: buf.readUInt32LE(4),
      initial: buf.readBigUInt64LE(8),
      dirty: buf.readBigUInt64LE(16),
    };
    this.note(
      `PRECOPY_INFO fd ${dataFd} argsz=${argsz}`,
      out.result,
      out.result.ok ? ` (initial ${out.initial}, dirty ${out.dirty}, flags ${out.flags}, argsz ${out.argsz})` : '',
    );
    return out;
  }

  /** Any ioctl on any fd, for calls the spec names but the suite has no typed form for. */
  ioctl(fd: number, request: number, arg: PointerArg, label: string): CallResult {
    const ret = ioctl(fd, request, arg);
    return this.note(
      `ioctl ${label} on fd ${fd}`,
      ret < 0 ? { ok: false, errno: errnoName(lastErrno()) } : { ok: true, ret },
    );
  }

  read(fd: number, buf: Buffer, length = buf.length): CallResult {
    const n = read(fd, buf, length);
    return this.note(
      `read(fd ${fd}, ${length})`,
      n < 0 ? { ok: false, errno: errnoName(lastErrno()) } : { ok: true, ret: n },
    );
  }

  write(fd: number, buf: Buffer, length = buf.length): CallResult {
    const n = write(fd, buf, length);
    return this.note(
      `write(fd ${fd}, ${length})`,
      n < 0 ? { ok: false, errno: errnoName(lastErrno()) } : { ok: true, ret: n },
    );
  }

  pread(fd: number, buf: Buffer, offset: number): CallResult {
    const n = pread(fd, buf, buf.length, offset);
    return this.note(
      `pread(fd ${fd}, ${buf.length}, ${offset})`,
      n < 0 ? { ok: false, errno: errnoName(lastErrno()) } : { ok: true, ret: n },
    );
  }

  pwrite(fd: number, buf: Buffer, offset: number): CallResult {
    const n = pwriteRaw(fd, buf, buf.length, offset);
    const r: CallResult = n < 0 ? { ok: false, errno: errnoName(koffi.errno()) } : { ok: true, ret: n };
    return this.note(`pwrite(fd ${fd}, ${buf.length}, ${offset})`, r);
  }

  closeDataFd(fd: number): void {
    if (!this.dataFds.delete(fd)) return;
    close(fd);
    this.log.push(`close(fd ${fd})`);
  }

  /** Close every data fd still open (between checks). */
  closeDataFds(): void {
    for (const fd of [...this.dataFds]) this.closeDataFd(fd);
  }
}

export function stateName(value: number): string {
  const e = Object.entries(VfioDeviceMigState).find(([, v]) => v === value);
  return e ? e[0] : `#${value}`;
}

/** Render a result for "observed" text. */
export function show(r: CallResult): string {
  return r.ok ? `${r.ret}` : r.errno;
}
