/**
 * Device state content that is large (up to several GiB) but never held in memory: byte `p` of a content
 * stream is a 1 MiB seeded block repeated, with an 8-byte stamp (block number XOR salt) at every 1 MiB
 * boundary, so reordered, repeated or dropped blocks are caught. Producing and checking both cost one memcpy.
 */
import { seededBytes } from './state-digest.js';

const BLOCK = 1 << 20;
const blocks = new Map<number, Buffer>();

function blockFor(seed: number): Buffer {
  let b = blocks.get(seed);
  if (!b) {
    b = seededBytes(seed, BLOCK);
    blocks.set(seed, b);
  }
  return b;
}

export class GeneratedContent {
  private readonly block: Buffer;
  private scratch = Buffer.alloc(0);
  private readonly stamp = Buffer.alloc(8);

  constructor(
    seed: number,
    private readonly salt: bigint,
  ) {
    this.block = blockFor(seed);
  }

  /** Bytes [pos, pos + n) of the content into `into` at 0. */
  fill(into: Buffer, pos: number, n: number): void {
    let done = 0;
    while (done < n) {
      const inBlock = (pos + done) % BLOCK;
      const k = Math.min(n - done, BLOCK - inBlock);
      this.block.copy(into, done, inBlock, inBlock + k);
      done += k;
    }
    // Stamps at each block start that falls inside (or overlaps) the range.
    for (let b = Math.floor(pos / BLOCK); b * BLOCK < pos + n; b++) {
      const at = b * BLOCK;
      if (at + 8 <= pos) continue;
      this.stamp.writeBigUInt64LE(BigInt(b) ^ this.salt);
      const from = Math.max(pos, at);
      const to = Math.min(pos + n, at + 8);
      this.stamp.copy(into, from - pos, from - at, to - at);
    }
  }

  /** Do `bytes` equal the content at `pos`? */
  matches(bytes: Buffer, pos: number): boolean {
    if (this.scratch.length < bytes.length) this.scratch = Buffer.allocUnsafe(Math.max(bytes.length, 1 << 16));
    this.fill(this.scratch, pos, bytes.length);
    return bytes.equals(this.scratch.subarray(0, bytes.length));
  }
}
