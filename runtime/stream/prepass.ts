/**
 * The pre-pass of a load from a regular file: the checksum of the whole body, verified before the device is
 * touched (PROTOCOL.md promise 2). Positioned reads, so the file position stays where the streaming pass
 * starts.
 *
 * One thread reads the page cache and sums at ~5 GB/s here: the copy out of the page cache is most of it (~7
 * GB/s alone; the chunk size, read() for pread() or mmap change that by a few per cent at most). A device takes
 * ~1 GB/s, so a one-thread pre-pass adds about a fifth to a load. A large body is therefore summed by two
 * threads: this one and a helper worker (prepass-helper.mjs) take SEGMENT-sized pieces from a shared counter,
 * each piece's lane sums land in shared memory, and they are combined in order (combineLaneSums) and folded
 * once. Two threads only help when a second core is free: on a machine whose other core is busy, the pre-pass
 * costs what it costs on one.
 *
 * The helper is plain JS (no TypeScript loader to start) and runs at the lowest priority from its first
 * instruction, so it only uses a core nobody else wants: a Node worker takes ~40 ms of CPU to start, which on a
 * machine with no free core would otherwise come out of this thread's time. This thread never waits for the
 * helper to start: it takes segments meanwhile. Below PARALLEL_FROM bytes, or with one CPU, no helper is
 * started; `VFIO_UAPI_PREPASS_THREADS=1` keeps every pre-pass on one thread (`2`: a helper whatever the size).
 */
import { readdirSync } from 'node:fs';
import { availableParallelism, setPriority } from 'node:os';
import { Worker } from 'node:worker_threads';
import { Errno } from '../sys/index.js';
import {
  CHECKSUM_WASM_LAYOUT,
  checksumWasmModule,
  combineLaneSums,
  emptyLaneSums,
  foldLaneSums,
  StreamChecksum,
  type LaneSums,
} from './checksum.js';
import { CHUNK } from './chunk.js';
import { checksumRange, SLICE } from './copy-loops.js';
import { FdIoError, isCancelled, yieldToEventLoop } from './fd-io.js';

/** Bytes per segment: what this thread reads between two turns of the event loop. */
export const SEGMENT = SLICE;

/**
 * Bodies from this size on get a helper thread (`node --import tsx bench/load-vs-dd.ts --prepass-sizes`: the
 * pre-pass alone on one thread and on two, the helper started each time; with no other process busy, two
 * threads were 0.83–0.98× one up to 128 MiB (the helper starts after this thread is done), 1.00× at 256 MiB,
 * 1.29× at 512 MiB, 1.48× at 1 GiB; with the other core busy, ~1× at every size, the helper summing 0–3%).
 */
export const PARALLEL_FROM = 512 * 2 ** 20;

// The shared control words (prepass-helper.mjs reads the same layout).
const NEXT = 0;
const PHASE = 1;
const FIRST_SEGMENT = 2;
const SEGMENT_WORDS = 10;
const [PENDING, DONE, FAILED] = [0, 1, 2];
const [NOT_STARTED, WORKING] = [0, 1];

export type PrePassThreads = 1 | 2;

/**
 * How many threads sum a body of `length` bytes: VFIO_UAPI_PREPASS_THREADS (1 or 2), else two from
 * PARALLEL_FROM bytes on when this process may use more than one CPU.
 */
export function prePassThreads(
  length: number,
  env: NodeJS.ProcessEnv = process.env,
  cpus: number = availableParallelism(),
): PrePassThreads {
  const forced = env.VFIO_UAPI_PREPASS_THREADS;
  if (forced === '1' || forced === '2') return Number(forced) as PrePassThreads;
  return length >= PARALLEL_FROM && cpus > 1 ? 2 : 1;
}

export interface PrePassOptions {
  /** 1: this thread alone; 2: with a helper (when wasm SIMD is there to hand it; else one thread). */
  threads: PrePassThreads;
  /** The shared cancel flag (limits.ts): checked between segments. */
  cancel?: Int32Array | null;
  /** Bytes per segment, a multiple of 16 (tests make it small to cut a small file into many). */
  segmentBytes?: number;
  /** Tests: this thread takes no segment, so the helper sums them all. */
  helperOnly?: boolean;
}

export interface PrePassResult {
  /** Body bytes that were there: fewer than asked when the file is shorter now. */
  bytes: number;
  /** The checksum of those bytes. */
  checksum: bigint;
  /** Segments each thread summed (the few bytes after the last whole 16-byte block are summed by this one, uncounted). */
  segments: { thisThread: number; helper: number };
}

/**
 * The checksum of `length` bytes of `fd` from `offset`. Throws FdIoError('read', errno) when a read fails,
 * ECANCELED when `cancel` is set. No read of `fd` happens after it returns or throws.
 */
export async function checksumFileRange(
  fd: number,
  offset: number,
  length: number,
  opts: PrePassOptions,
): Promise<PrePassResult> {
  const segmentBytes = opts.segmentBytes ?? SEGMENT;
  if (segmentBytes <= 0 || segmentBytes % 16 !== 0) throw new RangeError('segments are whole 16-byte blocks');
  // The segments cover the whole 16-byte blocks; the few bytes after them are summed here at the end.
  const aligned = length - (length % 16);
  const count = Math.ceil(aligned / segmentBytes);
  const control = new Int32Array(new SharedArrayBuffer(4 * (FIRST_SEGMENT + count * SEGMENT_WORDS)));
  const cancel = opts.cancel ?? null;
  const sum = new StreamChecksum();
  const segments = { thisThread: 0, helper: 0 };
  const mine = new Set<number>();
  const wantOf = (i: number) => Math.min(segmentBytes, aligned - i * segmentBytes);
  const base = (i: number) => FIRST_SEGMENT + i * SEGMENT_WORDS;

  /** Sum segment i here and record it. */
  const sumHere = (i: number) => {
    sum.reset();
    const done = checksumRange(fd, offset + i * segmentBytes, wantOf(i), sum);
    const { sums } = sum.laneSums();
    control[base(i) + 1] = done;
    control.set(sums, base(i) + 2);
    Atomics.store(control, base(i), DONE);
    segments.thisThread++;
    mine.add(i);
    return done;
  };

  const helper = opts.threads === 2 && count > 1 ? startHelper(fd, offset, aligned, segmentBytes, control) : null;
  try {
    if (helper && opts.helperOnly) await helper.ended;
    else
      for (;;) {
        if (isCancelled(cancel)) throw new FdIoError('read', Errno.ECANCELED);
        const i = Atomics.add(control, NEXT, 1);
        if (i >= count) break;
        if (sumHere(i) < wantOf(i)) break; // the file is shorter now
        await yieldToEventLoop(); // a signal handler may set `cancel`
      }
  } finally {
    // Stop the helper taking segments, and let it finish the one it holds: the caller may close `fd` next.
    Atomics.store(control, NEXT, count);
    if (helper) await helper.stop();
  }

  // In order: the lane sums of each segment, then of the last partial block; a short segment ends it.
  let whole: LaneSums = emptyLaneSums();
  for (let i = 0; i < count; i++) {
    let state = Atomics.load(control, base(i));
    // A segment nobody finished (the helper ended early, or the pre-pass stopped at a short one before it).
    if (state === PENDING) {
      sumHere(i);
      state = DONE;
    } else if (!mine.has(i)) segments.helper++;
    if (state === FAILED) throw new FdIoError('read', control[base(i) + 1]!);
    const done = control[base(i) + 1]!;
    whole = combineLaneSums(whole, { sums: control.subarray(base(i) + 2, base(i) + 10), bytes: done });
    if (done < wantOf(i)) return { bytes: whole.bytes, checksum: foldLaneSums(whole), segments };
  }
  if (length > aligned) {
    sum.reset();
    checksumRange(fd, offset + aligned, length - aligned, sum);
    whole = combineLaneSums(whole, sum.laneSums());
  }
  return { bytes: whole.bytes, checksum: foldLaneSums(whole), segments };
}

interface Helper {
  /** Resolves when the helper finished (it took no more segments) or died. */
  ended: Promise<void>;
  /** Wait for a working helper to finish its segment; end one that has not started. */
  stop(): Promise<void>;
}

function startHelper(
  fd: number,
  offset: number,
  length: number,
  segmentBytes: number,
  control: Int32Array,
): Helper | null {
  const module = checksumWasmModule();
  if (!module) return null; // no wasm SIMD: one thread
  const before = threadIds();
  const worker = new Worker(new URL('./prepass-helper.mjs', import.meta.url), {
    workerData: {
      module,
      layout: CHECKSUM_WASM_LAYOUT,
      fd,
      offset,
      length,
      segmentBytes,
      chunkBytes: CHUNK,
      control,
    },
    execArgv: [], // not this process's loader flags (tsx): the helper is plain JS and starts faster without
    resourceLimits: { maxOldGenerationSizeMb: 8 },
  });
  // Its thread exists now (Node creates it in the constructor) and starts Node up (~40 ms of CPU): at the lowest
  // priority from the start, so that on a machine with no free core it takes next to nothing from this thread.
  // Linux nice values are per thread (setpriority(2)); only the one new thread is changed.
  const fresh = [...threadIds()].filter((t) => !before.has(t));
  if (fresh.length === 1) lowestPriority(Number(fresh[0]));
  const ended = new Promise<void>((resolve) => {
    worker.once('message', () => resolve());
    worker.once('error', () => resolve());
    worker.once('exit', () => resolve());
  });
  return {
    ended,
    async stop() {
      // NEXT is past the last segment: from here the helper takes nothing. If it has not started, it never
      // will read. If it is working, it finishes the segment it holds (this thread waits meanwhile, so the
      // helper has its core despite its priority).
      if (Atomics.load(control, PHASE) === NOT_STARTED) void worker.terminate();
      else if (Atomics.load(control, PHASE) === WORKING) await ended;
    },
  };
}

/** This process's thread ids (/proc/self/task). */
function threadIds(): Set<string> {
  try {
    return new Set(readdirSync('/proc/self/task'));
  } catch {
    return new Set();
  }
}

/** Nice 19 for one thread of this process (raising a nice value needs no privilege). */
export function lowestPriority(tid: number): void {
  try {
    setPriority(tid, 19);
  } catch {
    /* not allowed here: it keeps its priority */
  }
}
