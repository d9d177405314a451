import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bytesSegment, OutgoingStream } from '../../runtime/emulator/data-session.js';
import { GeneratedContent } from '../../runtime/emulator/personalities/generated-content.js';
import { DataPipe } from '../../runtime/emulator/seccomp/data-pipe.js';
import type { DataSource, GatherSink } from '../../runtime/emulator/seccomp/handler.js';
import { read } from '../../runtime/sys/libc.js';

const MiB = 1 << 20;

/** A stream like a saving session's: a header, generated content crossing several blocks, a fill-only tail. */
function stream(contentBytes: number, limit = Infinity): OutgoingStream {
  const s = new OutgoingStream();
  s.limit = limit;
  s.append(bytesSegment(Buffer.from('a 48-byte record header and descriptor, roughly')));
  const content = new GeneratedContent(7, 0x1234_5678n << 24n);
  s.append({
    length: contentBytes,
    fill: (into, at, n) => content.fill(into, at, n),
    gather: (at, n, sink) => content.gather(at, n, sink),
  });
  s.append({ length: 777, fill: (into, _at, n) => void into.fill(3, 0, n) });
  return s;
}

function produced(s: OutgoingStream): Buffer {
  const parts: Buffer[] = [];
  const b = Buffer.alloc(300_007);
  for (let n = s.produce(b); n > 0; n = s.produce(b)) parts.push(Buffer.from(b.subarray(0, n)));
  return Buffer.concat(parts);
}

/** Everything the caller end yields when read `readSize` bytes at a time, checking the accounting as it goes. */
function readThroughPipe(source: DataSource, pipeSize: number, readSize: number): Buffer {
  const pipe = DataPipe.toCaller(source, pipeSize, () => {});
  const parts: Buffer[] = [];
  const b = Buffer.alloc(readSize);
  let total = 0;
  try {
    for (;;) {
      pipe.service();
      const n = read(pipe.callerEnd, b);
      if (n > 0) {
        parts.push(Buffer.from(b.subarray(0, n)));
        total += n;
      }
      expect(pipe.bytesReadByCaller()).toBe(total);
      if (pipe.pendingBytes() === 0) break;
    }
  } finally {
    pipe.close();
  }
  return Buffer.concat(parts);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const gathering = (s: OutgoingStream): DataSource =>
  Object.assign((into: Buffer) => s.produce(into), { gather: (max: number, sink: GatherSink) => s.gather(max, sink) });

describe('gathering sources (vmsplice of the cached content block)', () => {
  it('GeneratedContent.gather gives the bytes fill gives, at any offset', () => {
    const content = new GeneratedContent(42, 0xabcdefn);
    for (const [pos, n] of [
      [0, 3 * MiB + 5],
      [3, 10],
      [MiB - 4, 8],
      [MiB + 4090, 9000],
      [5 * MiB + 100, MiB],
    ] as const) {
      const want = Buffer.alloc(n);
      content.fill(want, pos, n);
      const got: Buffer[] = [];
      const sink: GatherSink = {
        copy: (from, start, end) => void got.push(Buffer.from(from.subarray(start, end))),
        reference: (from, start, end) => void got.push(Buffer.from(from.subarray(start, end))),
      };
      content.gather(pos, n, sink);
      expect(Buffer.concat(got).equals(want)).toBe(true);
    }
  });

  it.each([
    ['a 1 MiB pipe, 1 MiB reads', MiB, MiB],
    ['a 64 KiB pipe (partial splices), odd reads', 64 << 10, 100_003],
    ['a 1 MiB pipe, small odd reads', MiB, 4097],
  ])('the caller reads the byte-identical stream through %s', (_name, pipeSize, readSize) => {
    const want = produced(stream(3 * MiB + 12_345));
    const got = readThroughPipe(gathering(stream(3 * MiB + 12_345)), pipeSize, readSize);
    expect(got.length).toBe(want.length);
    expect(sha(got)).toBe(sha(want));
  });

  it('honours the stream limit (close-data-fd-early) like produce', () => {
    const limit = 2 * MiB + 77;
    const want = produced(stream(3 * MiB, limit));
    expect(want.length).toBe(limit);
    expect(sha(readThroughPipe(gathering(stream(3 * MiB, limit)), MiB, MiB))).toBe(sha(want));
  });
});
