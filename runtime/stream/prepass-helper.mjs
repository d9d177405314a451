// The second thread of a load's pre-pass (prepass.ts): takes segments of a regular file from a shared counter,
// reads each with positioned reads into its own instance of the checksum module (checksum.ts, handed over
// compiled) and leaves the segment's lane sums in shared memory, until no segment is left. Plain JS so that
// it starts without a TypeScript loader (a worker through tsx takes ~0.5 s to start, this one ~50 ms).
//
// The shared Int32Array `control` (layout in prepass.ts): [0] the next segment to take, [1] this thread's
// phase (0 not started, 1 taking segments, 2 finished), then per segment: state (0 pending, 1 done,
// 2 failed), bytes read (or the errno when failed), the eight lane sums.
import { readSync } from 'node:fs';
import { constants, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';

const NEXT = 0;
const PHASE = 1;
const FIRST_SEGMENT = 2;
const SEGMENT_WORDS = 10;
const [DONE, FAILED] = [1, 2]; // 0: pending

// The lowest priority for this thread only (Linux nice values are per thread): it should use a core nobody else
// wants, and give way to the load's own thread when they share one.
try {
  setPriority(0, 19);
} catch {
  /* not allowed here: it runs at the same priority */
}

const { module, layout, fd, offset, length, segmentBytes, chunkBytes, control } = workerData;
const { exports } = new WebAssembly.Instance(module);
const memory = Buffer.from(exports.memory.buffer);
const sums = new Int32Array(exports.memory.buffer, layout.sumsOffset, 8);
const segments = Math.ceil(length / segmentBytes);

/** Fill the buffer with up to `want` bytes from `position`: fewer only at the end of the file. */
function fill(want, position) {
  let got = 0;
  while (got < want) {
    const n = readSync(fd, memory, layout.dataOffset + got, want - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/** The segment's bytes (the file may be shorter now); its lane sums are left in `sums`. */
function sumSegment(at, want) {
  sums.fill(0);
  let done = 0;
  while (done < want) {
    const n = Math.min(chunkBytes, want - done);
    const got = fill(n, offset + at + done);
    // Whole 16-byte blocks only: segments and chunks are multiples of 16, so only a short file leaves a
    // partial block, and a short segment ends the pre-pass (the sums of a short segment are never used).
    exports.update(layout.dataOffset, got & ~15);
    done += got;
    if (got < n) break;
  }
  return done;
}

Atomics.store(control, PHASE, 1);
for (;;) {
  const i = Atomics.add(control, NEXT, 1);
  if (i >= segments) break;
  const base = FIRST_SEGMENT + i * SEGMENT_WORDS;
  const at = i * segmentBytes;
  const want = Math.min(segmentBytes, length - at);
  let done;
  try {
    done = sumSegment(at, want);
  } catch (e) {
    control[base + 1] = constants.errno[e?.code] ?? constants.errno.EIO;
    Atomics.store(control, base, FAILED);
    Atomics.store(control, NEXT, segments); // nobody goes on after a failed read
    break;
  }
  control[base + 1] = done;
  for (let k = 0; k < 8; k++) control[base + 2 + k] = sums[k];
  Atomics.store(control, base, DONE);
  if (done < want) {
    Atomics.store(control, NEXT, segments); // the file is shorter now: the pre-pass ends at this segment
    break;
  }
}
Atomics.store(control, PHASE, 2);
parentPort.postMessage('finished');
