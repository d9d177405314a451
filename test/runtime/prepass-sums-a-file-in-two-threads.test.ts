/**
 * The pre-pass of a load from a file (runtime/stream/prepass.ts): one thread, two threads and the helper thread
 * alone give the checksum of the same bytes as a one-pass checksum of them; a file shorter than asked, an fd
 * that cannot be read and a cancel flag end it the same way in every mode. Segments are made small here so that
 * a few MiB make many of them (which thread sums which one depends on timing; the result must not).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { Errno } from '../../runtime/sys/index.js';
import { checksumOf } from '../../runtime/stream/checksum.js';
import { FdIoError } from '../../runtime/stream/fd-io.js';
import { checksumFileRange, PARALLEL_FROM, prePassThreads, type PrePassOptions } from '../../runtime/stream/prepass.js';
import { tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

// A "file" of 100 header bytes, a body of 3 MiB + 13 bytes (a partial last block), 32 more bytes after it.
const header = 100;
const body = randomBytes(3 * 2 ** 20 + 13);
const path = tmp.file('body.bin');
writeFileSync(path, Buffer.concat([randomBytes(header), body, randomBytes(32)]));

const MODES: [string, PrePassOptions][] = [
  ['this thread alone', { threads: 1, segmentBytes: 64 * 1024 }],
  ['two threads', { threads: 2, segmentBytes: 64 * 1024 }],
  ['the helper thread alone', { threads: 2, segmentBytes: 64 * 1024, helperOnly: true }],
  ['two threads, segments of 48 bytes', { threads: 2, segmentBytes: 48 }],
];

async function withFd<T>(file: string, run: (fd: number) => Promise<T>): Promise<T> {
  const fd = openSync(file, 'r');
  try {
    return await run(fd);
  } finally {
    closeSync(fd);
  }
}

it.each(MODES)(
  '%s: the checksum of the body is the one-pass checksum of the same bytes',
  async (_, opts) => {
    const expected = checksumOf(body, true);
    const r = await withFd(path, (fd) => checksumFileRange(fd, header, body.length, opts));
    expect(r.bytes).toBe(body.length);
    expect(r.checksum).toBe(expected);
    const count = Math.ceil((body.length - 13) / opts.segmentBytes!);
    expect(r.segments.thisThread + r.segments.helper).toBe(count);
    if (opts.helperOnly) expect(r.segments).toEqual({ thisThread: 0, helper: count });
    if (opts.threads === 1) expect(r.segments).toEqual({ thisThread: count, helper: 0 });
  },
  30_000,
);

it.each(MODES)(
  '%s: a range that ends on a 16-byte block and one shorter than a block',
  async (_, opts) => {
    for (const length of [2 ** 20, 2 ** 20 + 16 * 7, 5, 0]) {
      const r = await withFd(path, (fd) => checksumFileRange(fd, header + 3, length, opts));
      expect(r.bytes).toBe(length);
      expect(r.checksum).toBe(checksumOf(body.subarray(3, 3 + length), true));
    }
  },
  30_000,
);

it.each(MODES)('%s: a file shorter than asked gives the bytes that were there', async (_, opts) => {
  // Ask for 1 MiB more than the file has after the header: the last 1 MiB + 45 bytes are missing.
  const r = await withFd(path, (fd) => checksumFileRange(fd, header, body.length + 2 ** 20, opts));
  expect(r.bytes).toBe(body.length + 32);
});

it.each(MODES)('%s: a read that fails is an FdIoError with its errno (a directory: EISDIR)', async (_, opts) => {
  const e = await withFd(tmp.dir, (fd) => checksumFileRange(fd, 0, 2 ** 20, opts)).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(FdIoError);
  expect((e as FdIoError).call).toBe('read');
  expect((e as FdIoError).errno).toBe(Errno.EISDIR);
});

it('a set cancel flag stops it with ECANCELED', async () => {
  const cancel = new Int32Array(new SharedArrayBuffer(4));
  Atomics.store(cancel, 0, 1);
  for (const [, opts] of MODES.filter(([, o]) => !o.helperOnly)) {
    const e = await withFd(path, (fd) => checksumFileRange(fd, header, body.length, { ...opts, cancel })).catch(
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(FdIoError);
    expect((e as FdIoError).errno).toBe(Errno.ECANCELED);
  }
});

it('two threads from PARALLEL_FROM bytes on with more than one CPU; VFIO_UAPI_PREPASS_THREADS=1 or 2 decides instead', () => {
  expect(prePassThreads(PARALLEL_FROM - 1, {}, 2)).toBe(1);
  expect(prePassThreads(PARALLEL_FROM, {}, 2)).toBe(2);
  expect(prePassThreads(PARALLEL_FROM * 4, {}, 1)).toBe(1);
  expect(prePassThreads(PARALLEL_FROM * 4, { VFIO_UAPI_PREPASS_THREADS: '1' }, 2)).toBe(1);
  expect(prePassThreads(100, { VFIO_UAPI_PREPASS_THREADS: '2' }, 1)).toBe(2);
  expect(prePassThreads(100, { VFIO_UAPI_PREPASS_THREADS: 'many' }, 2)).toBe(1);
});

/** Threads of this process whose nice value is 19 (proc(5): field 19 of /proc/self/task/TID/stat). */
function lowestPriorityThreads(): string[] {
  return readdirSync('/proc/self/task').filter((tid) => {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16] === '19';
    } catch {
      return false; // it ended meanwhile
    }
  });
}

it('the helper thread runs at the lowest priority (nice 19) from its start, and ends afterwards', async () => {
  const before = new Set(lowestPriorityThreads());
  const fd = openSync(path, 'r');
  let helper: string[];
  try {
    // checksumFileRange runs up to its first await synchronously: the helper exists (and is reniced) by now.
    const running = checksumFileRange(fd, header, body.length, { threads: 2, segmentBytes: 4096, helperOnly: true });
    helper = lowestPriorityThreads().filter((t) => !before.has(t));
    expect(helper).toHaveLength(1);
    expect((await running).checksum).toBe(checksumOf(body, true));
  } finally {
    closeSync(fd);
  }
  // It ends by itself once no segment is left.
  await expect.poll(() => lowestPriorityThreads().includes(helper[0]!), { timeout: 5000 }).toBe(false);
});
