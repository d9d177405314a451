/**
 * Device state content that is large (up to several GiB) but never held in memory: byte `p` of a content
 * stream is a 1 MiB seeded block repeated, with an 8-byte stamp (block number XOR salt) at every 1 MiB
 * boundary, so reordered, repeated or dropped blocks are caught. Producing and checking both cost one memcpy.
 */
import { addressOf } from '../../sys/libc.js';
import type { GatherSink } from '../seccomp/handler.js';
import { seededBytes } from './state-digest.js';

const BLOCK = 1 << 20;
const PAGE = 4096;
/**
 * Seed → its block, cached for the life of the process and never written after it is seeded: `gather` hands
 * these pages to pipes by reference (vmsplice), which is only sound for memory that never changes.
 */
const blocks = new Map<number, Buffer>();

/** The block, page-aligned outside the JS heap, so each of its pages fills exactly one pipe slot. */
function blockFor(seed: number): Buffer {
  let b = blocks.get(seed);
  if (!b) {
    const raw = Buffer.allocUnsafeSlow(BLOCK + PAGE);
    const skew = Number(addressOf(raw) % BigInt(PAGE));
    b = raw.subarray(skew === 0 ? 0 : PAGE - skew).subarray(0, BLOCK);
    seededBytes(seed, BLOCK).copy(b);
    blocks.set(seed, b);
  }
  return b;
}

export class GeneratedContent {
  private readonly block: Buffer;
  private scratch = Buffer.alloc(0);
  private readonly stamp = Buffer.alloc(8);
  /** The first page of one block as the stream has it (stamp included), for `gather`. */
  private readonly firstPage = Buffer.allocUnsafe(PAGE);
  private firstPageOf = -1;

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

  /**
   * Bytes [pos, pos + n) of the content as pieces, in order: the first page of each block (where its stamp
   * is) copied, the rest of the block by reference to the cached block, which never changes.
   */
  gather(pos: number, n: number, sink: GatherSink): void {
    const end = pos + n;
    let p = pos;
    while (p < end) {
      const b = Math.floor(p / BLOCK);
      const inBlock = p - b * BLOCK;
      if (inBlock < PAGE) {
        const to = Math.min(PAGE, inBlock + (end - p));
        if (this.firstPageOf !== b) {
          this.block.copy(this.firstPage, 0, 0, PAGE);
          this.firstPage.writeBigUInt64LE(BigInt(b) ^ this.salt, 0);
          this.firstPageOf = b;
        }
        sink.copy(this.firstPage, inBlock, to);
        p += to - inBlock;
      } else {
        const to = Math.min(BLOCK, inBlock + (end - p));
        sink.reference(this.block, inBlock, to);
        p += to - inBlock;
      }
    }
  }

  /** Do `bytes` equal the content at `pos`? */
  matches(bytes: Buffer, pos: number): boolean {
    if (this.scratch.length < bytes.length) this.scratch = Buffer.allocUnsafe(Math.max(bytes.length, 1 << 16));
    this.fill(this.scratch, pos, bytes.length);
    return bytes.equals(this.scratch.subarray(0, bytes.length));
  }
}
