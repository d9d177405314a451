/** The trailer checksum: wasm and JS loops agree, chunking does not matter, and damage changes it. */
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { checksumOf, StreamChecksum } from '../../runtime/stream/checksum.js';

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
