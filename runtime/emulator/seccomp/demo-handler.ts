/**
 * A tiny handler that exercises every part of the mechanism; the tests and benches use it. Not a VFIO model.
 *
 * - `<placeholderDir>/demo-group` is a placeholder node. ioctl 0x3B6A on it returns a new "device" fd
 *   (installed by an addFd answer, so the ioctl's return value is the fd).
 * - ioctl 0x3B6B on the placeholder or the device fd fills a 24-byte struct {argsz=24, flags, 9, 5, 0, 0}.
 * - ioctl 0x3B75 on the device fd takes {u32 argsz; u32 flags; u32 state; s32 data_fd} and, for state 3,
 *   opens a data stream: a pipe the mechanism keeps fed, whose fd number is written back into data_fd.
 * - reads of the data fd run through the pipe (CONTINUE) while bytes remain; once dry the first read gets
 *   ENOMSG (a temporary end) and every later read gets 0 (the end).
 * - ioctl 0x3B79 on the data fd reports the bytes the caller has not read yet in {argsz, flags, initial_bytes, dirty}.
 * - for state 5 the data fd is a write end: writes run through the pipe (CONTINUE) and the mechanism drains
 *   it into a sink that counts bytes and checks the pattern; 0x3B79 on that fd reports
 *   {argsz, flags = 1 if the pattern held, received bytes, 0}.
 * - lseek/pread/pwrite on a data fd fail with ESPIPE, like a stream-opened fd.
 */
import { openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Errno } from '../../sys/errno.js';
import type { DataPipe } from './data-pipe.js';
import { CONTINUE, fail, value, type HandlerEnvironment, type IoctlCall, type SyscallHandler } from './handler.js';

export interface DemoOptions {
  /** Bytes served on each data stream (default 3 MiB + 256). */
  streamBytes?: number;
}

export const DEMO_GROUP_NODE = 'demo-group';
export const DemoIoctl = { GET_DEVICE_FD: 0x3b6a, GET_INFO: 0x3b6b, SET_STATE: 0x3b75, STREAM_INFO: 0x3b79 } as const;
export const DEMO_INFO = { flags: 0x2, numRegions: 9, numIrqs: 5 } as const;

interface DataStream {
  pipe: DataPipe;
  totalBytes: number;
  temporaryEndReported: boolean;
}

/** A resuming stream: counts what the caller wrote and checks it follows the pattern. */
interface IncomingStream {
  pipe: DataPipe;
  received: number;
  patternOk: boolean;
  ended: boolean;
}

type Tag = { kind: 'device' } | { kind: 'stream'; stream: DataStream } | { kind: 'incoming'; incoming: IncomingStream };

/** Byte `i` of every stream is `i & 0xff`; chunks are multiples of 256 so one prefilled buffer serves all. */
function patternSource(total: number) {
  let remaining = total;
  let filledFor: Buffer | undefined;
  return (into: Buffer): number => {
    if (filledFor !== into) {
      for (let i = 0; i < into.length; i++) into[i] = i & 0xff;
      filledFor = into;
    }
    const n = Math.min(remaining, into.length - (into.length % 256));
    remaining -= n;
    return n;
  };
}

export default function createDemoHandler(env: HandlerEnvironment): SyscallHandler {
  const options = (env.options ?? {}) as DemoOptions;
  const groupNode = join(env.placeholderDir, DEMO_GROUP_NODE);
  writeFileSync(groupNode, '');

  function getInfo(call: IoctlCall) {
    const argsz = call.readMem(call.arg, 4).readUInt32LE(0);
    if (argsz < 16) return fail(Errno.EINVAL);
    const info = Buffer.alloc(24);
    info.writeUInt32LE(24, 0);
    info.writeUInt32LE(DEMO_INFO.flags, 4);
    info.writeUInt32LE(DEMO_INFO.numRegions, 8);
    info.writeUInt32LE(DEMO_INFO.numIrqs, 12);
    call.writeMem(call.arg, info.subarray(0, Math.min(argsz, 24)));
    return value(0);
  }

  function setState(call: IoctlCall) {
    const arg = call.readMem(call.arg, 16);
    if (arg.readUInt32LE(0) < 16) return fail(Errno.EINVAL);
    const state = arg.readUInt32LE(8);
    let dataFd = -1;
    if (state === 5) {
      const incoming: IncomingStream = {
        pipe: undefined as unknown as DataPipe,
        received: 0,
        patternOk: true,
        ended: false,
      };
      incoming.pipe = env.createSinkPipe({
        data(chunk) {
          for (let i = 0; i < chunk.length; i += 251) {
            if (chunk[i] !== ((incoming.received + i) & 0xff)) incoming.patternOk = false;
          }
          incoming.received += chunk.length;
        },
        end() {
          incoming.ended = true;
        },
      });
      dataFd = call.installFd(incoming.pipe.callerEnd, {
        tag: { kind: 'incoming', incoming } satisfies Tag,
        dataPipe: incoming.pipe,
      });
    }
    if (state === 3) {
      const totalBytes = options.streamBytes ?? 3 * (1 << 20) + 256;
      const pipe = env.createSourcePipe(patternSource(totalBytes));
      const stream: DataStream = { pipe, totalBytes, temporaryEndReported: false };
      dataFd = call.installFd(pipe.callerEnd, { tag: { kind: 'stream', stream } satisfies Tag, dataPipe: pipe });
    }
    arg.writeInt32LE(dataFd, 12);
    call.writeMem(call.arg + 12n, arg.subarray(12, 16));
    return value(0);
  }

  function streamInfo(call: IoctlCall, stream: DataStream) {
    const arg = call.readMem(call.arg, 24);
    if (arg.readUInt32LE(0) < 24) return fail(Errno.EINVAL);
    arg.writeBigUInt64LE(BigInt(stream.totalBytes - stream.pipe.bytesReadByCaller()), 8);
    arg.writeBigUInt64LE(0n, 16);
    call.writeMem(call.arg, arg);
    return value(0);
  }

  function incomingInfo(call: IoctlCall, incoming: IncomingStream) {
    // Take in whatever the caller's completed writes left in the pipe before reporting.
    incoming.pipe.service();
    const arg = Buffer.alloc(24);
    arg.writeUInt32LE(24, 0);
    arg.writeUInt32LE(incoming.patternOk ? 1 : 0, 4);
    arg.writeBigUInt64LE(BigInt(incoming.received), 8);
    call.writeMem(call.arg, arg);
    return value(0);
  }

  return {
    ioctl(call) {
      const tag = call.target.kind === 'installed' ? (call.target.tag as Tag) : undefined;
      if (!tag) {
        // A placeholder: the group node.
        if (call.request === DemoIoctl.GET_INFO) return getInfo(call);
        if (call.request === DemoIoctl.GET_DEVICE_FD) {
          const fd = openSync(groupNode, 'r+');
          return { addFd: { fd, tag: { kind: 'device' } satisfies Tag, closeOurs: true } };
        }
        return fail(Errno.ENOTTY);
      }
      if (tag.kind === 'device') {
        if (call.request === DemoIoctl.GET_INFO) return getInfo(call);
        if (call.request === DemoIoctl.SET_STATE) return setState(call);
        return fail(Errno.ENOTTY);
      }
      if (call.request !== DemoIoctl.STREAM_INFO) return fail(Errno.ENOTTY);
      if (tag.kind === 'stream') return streamInfo(call, tag.stream);
      return incomingInfo(call, tag.incoming);
    },

    read(call) {
      const tag = call.target.kind === 'installed' ? (call.target.tag as Tag) : undefined;
      if (tag?.kind !== 'stream') return CONTINUE;
      const stream = tag.stream;
      // Bytes produced and not yet read: the real read will return them without blocking.
      if (stream.pipe.pendingBytes() > 0) return CONTINUE;
      if (!stream.temporaryEndReported) {
        stream.temporaryEndReported = true;
        return fail(Errno.ENOMSG);
      }
      return value(0);
    },

    other(call) {
      const tag = call.target.kind === 'installed' ? (call.target.tag as Tag) : undefined;
      const positioned = call.syscall === 'lseek' || call.syscall === 'pread64' || call.syscall === 'pwrite64';
      if (tag && tag.kind !== 'device' && positioned) return fail(Errno.ESPIPE);
      return CONTINUE;
    },
  };
}
