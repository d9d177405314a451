/**
 * The trailer checksum: wasm and JS loops agree, chunking does not matter, damage changes it, and the lane sums
 * of ranges side by side combine to the checksum of the whole (what the parallel pre-pass of a load relies on).
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import {
  checksumOf,
  combineLaneSums,
  emptyLaneSums,
  foldLaneSums,
  StreamChecksum,
  type LaneSums,
} from '../../runtime/stream/checksum.js';

const data = randomBytes(3 * 2 ** 20 + 13);

it('runs the wasm SIMD loop here, and it agrees with the JS reference', () => {
  expect(new StreamChecksum().engine).toBe('wasm-simd');
  expect(checksumOf(data)).toBe(checksumOf(data, true));
});

it.each([false, true])('any chunking gives the same checksum (JS loop: %s)', (forceJs) => {
  const c = new StreamChecksum(forceJs);
  const sizes = [1, 5, 17, 3, 100_000, 7, 2 ** 20, 33, 15, 16];
  for (let at = 0, k = 0; at < data.length; k++) {
    const n = Math.min(sizes[k % sizes.length]!, data.length - at);
    data.copy(c.buffer, 0, at, at + n);
    c.update(n);
    at += n;
  }
  expect(c.digest()).toBe(checksumOf(data));
});

it('notices a flipped bit, swapped blocks, a zeroed range and a trailing zero byte', () => {
  const sum = checksumOf(data);
  const flipped = Buffer.from(data);
  flipped[123_457]! ^= 0x10;
  const swapped = Buffer.from(data);
  data.copy(swapped, 0, 16, 32);
  data.copy(swapped, 16, 0, 16);
  const zeroed = Buffer.from(data).fill(0, 4096, 8192);
  for (const damaged of [flipped, swapped, zeroed, Buffer.concat([data, Buffer.alloc(1)])])
    expect(checksumOf(damaged)).not.toBe(sum);
});

/** The lane sums of `data` (fed through a fresh checksum). */
function laneSumsOf(part: Buffer): LaneSums {
  const c = new StreamChecksum();
  c.update(part.length, part);
  return c.laneSums();
}

it('lane sums of ranges split at 16-byte multiples combine to the one-pass checksum (random lengths, splits, padded tails)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 4096 }),
      fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 6 }),
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      (length, blockCuts, seed) => {
        const input = data.subarray(seed % 1024, (seed % 1024) + length);
        // Cut points at 16-byte multiples; the last range takes the rest, a partial last block included.
        const cuts = [...new Set(blockCuts.map((b) => Math.min(b * 16, length - (length % 16))))].sort((x, y) => x - y);
        let combined = emptyLaneSums();
        let at = 0;
        for (const cut of [...cuts, length]) {
          combined = combineLaneSums(combined, laneSumsOf(input.subarray(at, cut)));
          at = cut;
        }
        expect(combined.bytes).toBe(length);
        expect(foldLaneSums(combined)).toBe(checksumOf(input, true));
      },
    ),
    { numRuns: 300 },
  );
});

it('two halves of 3 MiB + 13 bytes combine to the checksum of the whole (and the digest is the fold of the lane sums)', () => {
  const half = (data.length >> 5) << 4; // a 16-byte multiple near the middle
  const both = combineLaneSums(laneSumsOf(data.subarray(0, half)), laneSumsOf(data.subarray(half)));
  expect(foldLaneSums(both)).toBe(checksumOf(data, true));
  expect(foldLaneSums(laneSumsOf(data))).toBe(checksumOf(data));
});

it('refuses to combine after a range that ends in a partial block (its padding would sit mid-stream)', () => {
  expect(() => combineLaneSums(laneSumsOf(data.subarray(0, 17)), laneSumsOf(data.subarray(17, 40)))).toThrow(
    /whole 16-byte blocks only \(the first range has 17 bytes\)/,
  );
});

it('b = b1 + b2 + n2·a1 holds mod 2^32 when the second range has more than 2^32 blocks', () => {
  // Sums as a checksum of such a range could leave them; the expected values are the formula in BigInt.
  const first: LaneSums = { sums: Int32Array.of(-7, 0x7fffffff, 123456789, -1, 5, -6, 7, -8), bytes: 2 ** 20 };
  const second: LaneSums = { sums: Int32Array.of(1, 2, 3, 4, -5, 6, -7, 8), bytes: 2 ** 40 + 5 * 16 + 3 };
  const n2 = BigInt(2 ** 36 + 6); // blocks of the second range, its padded last one counted
  const u32 = (x: bigint) => Number(BigInt.asIntN(32, x));
  const expected = [0, 1, 2, 3].map((k) => u32(BigInt(first.sums[k]!) + BigInt(second.sums[k]!)));
  for (const k of [0, 1, 2, 3])
    expected.push(u32(BigInt(first.sums[4 + k]!) + BigInt(second.sums[4 + k]!) + n2 * BigInt(first.sums[k]!)));
  const got = combineLaneSums(first, second);
  expect([...got.sums]).toEqual(expected);
  expect(got.bytes).toBe(2 ** 40 + 2 ** 20 + 83);
});

/** FORMAT.md's steps, written out plainly from the text (unsigned arithmetic in BigInt), as an independent reference. */
function formatMdChecksum(input: Buffer): bigint {
  const M32 = 0xffffffffn;
  const padded = Buffer.concat([input, Buffer.alloc((16 - (input.length % 16)) % 16)]);
  const a = [0n, 0n, 0n, 0n];
  const b = [0n, 0n, 0n, 0n];
  for (let i = 0; i < padded.length / 4; i++) {
    const k = i % 4;
    a[k] = (a[k]! + BigInt(padded.readUInt32LE(4 * i))) & M32;
    b[k] = (b[k]! + a[k]!) & M32;
  }
  const mix = (h: bigint) => {
    h ^= h >> 16n;
    h = (h * 0x85ebca6bn) & M32;
    h ^= h >> 13n;
    h = (h * 0xc2b2ae35n) & M32;
    return h ^ (h >> 16n);
  };
  let lo = 0x76666331n;
  let hi = 0x34366c66n;
  for (const s of [...a, ...b]) {
    lo = mix(lo ^ s);
    hi = mix((hi + s * 0x9e3779b1n) & M32);
  }
  const len = BigInt(input.length);
  lo = mix(lo ^ (len & M32));
  hi = mix(hi ^ lo ^ (len >> 32n));
  return (hi << 32n) | lo;
}

it.each([0, 1, 15, 16, 17, 64, 1000, 4099])('a %i-byte input has the checksum FORMAT.md describes', (length) => {
  const input = data.subarray(100, 100 + length);
  expect(checksumOf(input)).toBe(formatMdChecksum(input));
  expect(checksumOf(input, true)).toBe(formatMdChecksum(input));
});
