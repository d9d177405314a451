/**
 * The saved file's body checksum ("lanes-fletcher-64", FORMAT.md): fast enough to keep up with the data fd,
 * for accidental damage (truncation, corruption, reordering), not against anyone forging a file.
 *
 * The body is read as little-endian u32 words, zero-padded to a multiple of 16 bytes. Word i goes to lane
 * i mod 4; each lane keeps a += word, b += a (mod 2^32), Fletcher-style, so both values and order count.
 * The eight sums and the byte count are folded into 64 bits at the end.
 *
 * The hot loop is a tiny WebAssembly SIMD function (one i32x4 add pair per 16 bytes, ~38 GB/s of cached data here, where
 * zlib's crc32 does ~2.4 GB/s). Its memory holds the 1 MiB I/O buffer itself, so read() lands the bytes
 * where the checksum reads them: no copy. A plain JS version of the same sums is the fallback and the
 * reference the tests compare against.
 */

/** Bytes of I/O buffer the checksum's memory offers (one chunk plus room for a held-back trailer). */
export const CHECKSUM_BUFFER_BYTES = (1 << 20) + 64 * 1024;

const PAGE = 64 * 1024;
/** Where the buffer starts in wasm memory: the first page holds the sums and the carried tail. */
const DATA_OFFSET = PAGE;
const PAGES = 1 + CHECKSUM_BUFFER_BYTES / PAGE;
/** A 16-byte block after the sums (which take bytes 0..31) for the zero-padded last block. */
const SCRATCH = 32;

type UpdateFn = (ptr: number, length: number) => void;

/** The little of the WebAssembly API used here (the project's TS libs do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: { memory: { buffer: ArrayBuffer }; update: UpdateFn } };
}
const WasmGlobal = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** The wasm module, assembled by hand: update(ptr, len) adds len bytes (a multiple of 16) at ptr to the sums. */
function wasmModuleBytes(): Uint8Array {
  const leb = (n: number): number[] => {
    const out: number[] = [];
    do {
      let byte = n & 0x7f;
      n >>>= 7;
      if (n) byte |= 0x80;
      out.push(byte);
    } while (n);
    return out;
  };
  // i32.const takes a signed LEB128: 64 is [0xc0, 0x00] (a lone 0x40 would be -64).
  const i32Const = (n: number): number[] => {
    const out: number[] = [0x41];
    for (;;) {
      const byte = n & 0x7f;
      n >>= 7;
      if ((n === 0 && !(byte & 0x40)) || (n === -1 && byte & 0x40)) return [...out, byte];
      out.push(byte | 0x80);
    }
  };
  const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
  const str = (s: string) => [...leb(s.length), ...Buffer.from(s, 'latin1')];
  const [I32, V128] = [0x7f, 0x7b];
  const [GET, SET, TEE] = [0x20, 0x21, 0x22];
  const SIMD = 0xfd;
  const v128Load = (offset: number) => [SIMD, 0x00, 4, ...leb(offset)];
  const v128Store = (offset: number) => [SIMD, 0x0b, 4, ...leb(offset)];
  const i32x4Add = [SIMD, 0xae, 0x01];
  // params: 0 ptr, 1 len; locals: 2 end (i32), 3 a (v128), 4 b (v128)
  const oneBlock = (offset: number) => [
    GET,
    3,
    GET,
    0,
    ...v128Load(offset),
    ...i32x4Add,
    TEE,
    3,
    GET,
    4,
    ...i32x4Add,
    SET,
    4,
  ];
  const body = [
    ...[2, 1, I32, 2, V128],
    ...[GET, 0, GET, 1, 0x6a, SET, 2],
    ...[...i32Const(0), ...v128Load(0), SET, 3, ...i32Const(0), ...v128Load(16), SET, 4],
    // 64 bytes per turn while at least 64 remain
    ...[0x02, 0x40, GET, 1, ...i32Const(64), 0x49, 0x0d, 0],
    ...[0x03, 0x40, ...oneBlock(0), ...oneBlock(16), ...oneBlock(32), ...oneBlock(48)],
    ...[GET, 0, ...i32Const(64), 0x6a, TEE, 0, ...i32Const(64), 0x6a, GET, 2, 0x4d, 0x0d, 0, 0x0b, 0x0b],
    // then 16 at a time
    ...[0x02, 0x40, GET, 0, GET, 2, 0x4f, 0x0d, 0],
    ...[0x03, 0x40, ...oneBlock(0), GET, 0, ...i32Const(16), 0x6a, TEE, 0, GET, 2, 0x49, 0x0d, 0, 0x0b, 0x0b],
    ...[...i32Const(0), GET, 3, ...v128Store(0), ...i32Const(0), GET, 4, ...v128Store(16), 0x0b],
  ];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, 0x60, 2, I32, I32, 0]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0x01, ...leb(PAGES), ...leb(PAGES)]),
    ...section(7, [2, ...str('memory'), 0x02, 0, ...str('update'), 0x00, 0]),
    ...section(10, [1, ...leb(body.length), ...body]),
  ]);
}

/** Plain JS sums over `words` (16-byte blocks), same arithmetic as the wasm loop. */
function updateInJs(sums: Int32Array, words: Int32Array): void {
  let a0 = sums[0]!,
    a1 = sums[1]!,
    a2 = sums[2]!,
    a3 = sums[3]!,
    b0 = sums[4]!,
    b1 = sums[5]!,
    b2 = sums[6]!,
    b3 = sums[7]!;
  for (let i = 0; i < words.length; i += 4) {
    a0 = (a0 + words[i]!) | 0;
    b0 = (b0 + a0) | 0;
    a1 = (a1 + words[i + 1]!) | 0;
    b1 = (b1 + a1) | 0;
    a2 = (a2 + words[i + 2]!) | 0;
    b2 = (b2 + a2) | 0;
    a3 = (a3 + words[i + 3]!) | 0;
    b3 = (b3 + a3) | 0;
  }
  sums.set([a0, a1, a2, a3, b0, b1, b2, b3]);
}

/** The compiled module, once per thread (undefined: not tried yet; null: no wasm SIMD here). */
let compiled: object | null | undefined;

/**
 * The compiled checksum module, or null where wasm SIMD is missing. A worker can be handed it (it is
 * structured-cloneable) and instantiate it without compiling: see prepass-helper.mjs, which uses the layout
 * in CHECKSUM_WASM_LAYOUT.
 */
export function checksumWasmModule(): object | null {
  if (compiled === undefined) {
    try {
      compiled = WasmGlobal ? new WasmGlobal.Module(wasmModuleBytes()) : null;
    } catch {
      compiled = null; // no wasm SIMD here: the JS loop gives the same sums
    }
  }
  return compiled;
}

/**
 * Where an instance of the module keeps things: the eight lane sums as little-endian i32 at `sumsOffset`
 * (a0..a3, b0..b3; update() reads and writes them there), and the I/O buffer of `bufferBytes` at `dataOffset`.
 */
export const CHECKSUM_WASM_LAYOUT = { sumsOffset: 0, dataOffset: DATA_OFFSET, bufferBytes: CHECKSUM_BUFFER_BYTES };

function wasmUpdate(): { memory: ArrayBuffer; update: UpdateFn } | null {
  const module = checksumWasmModule();
  if (!module || !WasmGlobal) return null;
  try {
    const { exports } = new WasmGlobal.Instance(module);
    return { memory: exports.memory.buffer, update: exports.update };
  } catch {
    return null; // no memory for an instance: the JS loop gives the same sums
  }
}

/** murmur3's 32-bit finaliser. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * A running checksum with its own I/O buffer. Read or write through `buffer`, then `update(length)` with
 * how many bytes at its start are data: chunks of any length give the same result as one big one.
 */
export class StreamChecksum {
  /** The I/O buffer (CHECKSUM_BUFFER_BYTES); in wasm memory when wasm SIMD is available. */
  readonly buffer: Buffer;
  /** Which loop runs: 'wasm-simd' or 'js'. */
  readonly engine: 'wasm-simd' | 'js';
  private readonly memory: Buffer;
  private readonly sums: Int32Array;
  private readonly run: UpdateFn;
  /** Bytes of an unfinished 16-byte block, kept just before the buffer (DATA_OFFSET - carried…). */
  private carried = 0;
  /** Bytes added so far: folded in, so zero padding cannot hide a missing or extra zero byte. */
  private total = 0;

  constructor(forceJs = false) {
    const wasm = forceJs ? null : wasmUpdate();
    const backing = wasm?.memory ?? new ArrayBuffer(PAGES * PAGE);
    this.memory = Buffer.from(backing);
    this.sums = new Int32Array(backing, 0, 8);
    this.buffer = this.memory.subarray(DATA_OFFSET, DATA_OFFSET + CHECKSUM_BUFFER_BYTES);
    this.engine = wasm ? 'wasm-simd' : 'js';
    const words = new Int32Array(backing);
    // Blocks after a carried tail start unaligned: the JS loop then reads a copy (it is only the fallback).
    this.run = wasm
      ? wasm.update
      : (ptr, length) =>
          updateInJs(
            this.sums,
            ptr % 4 === 0
              ? words.subarray(ptr >> 2, (ptr + length) >> 2)
              : new Int32Array(backing.slice(ptr, ptr + length)),
          );
  }

  /** Add the first `length` bytes of `buffer` (or of `from`, copied into it first when it is another buffer). */
  update(length: number, from?: Buffer): void {
    if (from && from.buffer !== this.buffer.buffer) {
      // Someone else's buffer: feed it through ours, a buffer-full at a time.
      for (let done = 0; done < length;) {
        const n = Math.min(length - done, CHECKSUM_BUFFER_BYTES);
        from.copy(this.buffer, 0, done, done + n);
        this.update(n);
        done += n;
      }
      return;
    }
    this.total += length;
    const start = DATA_OFFSET - this.carried;
    const total = this.carried + length;
    const whole = total & ~15;
    if (whole) this.run(start, whole);
    const left = total - whole;
    if (left) this.memory.copyWithin(DATA_OFFSET - left, start + whole, start + total);
    this.carried = left;
  }

  /** The lane sums of everything added so far (a partial last block zero-padded). Does not reset. */
  laneSums(): LaneSums {
    const saved = this.sums.slice();
    if (this.carried) {
      // The last, partial block, zero-padded, in the scratch block after the sums; then put the sums back.
      this.memory.fill(0, SCRATCH, SCRATCH + 16);
      this.memory.copy(this.memory, SCRATCH, DATA_OFFSET - this.carried, DATA_OFFSET);
      this.run(SCRATCH, 16);
    }
    const sums = this.sums.slice();
    this.sums.set(saved);
    return { sums, bytes: this.total };
  }

  /** The 64-bit checksum of everything added so far. Does not reset. */
  digest(): bigint {
    return foldLaneSums(this.laneSums());
  }

  /** Start again from nothing (the same buffer, memory and engine). */
  reset(): void {
    this.sums.fill(0);
    this.carried = 0;
    this.total = 0;
  }
}

/**
 * A range's checksum before the fold: the eight lane sums (a0..a3, b0..b3, as i32) over its 16-byte blocks,
 * a partial last block zero-padded, and its length in bytes. Ranges side by side combine exactly
 * (combineLaneSums), so parts of one input can be summed apart (in parallel) and folded once (foldLaneSums).
 */
export interface LaneSums {
  readonly sums: Int32Array;
  readonly bytes: number;
}

/** The lane sums of nothing. */
export function emptyLaneSums(): LaneSums {
  return { sums: new Int32Array(8), bytes: 0 };
}

/**
 * The lane sums of `first` followed by `second`, as one pass over both gives them. `first` must be whole
 * 16-byte blocks (only an input's last range may end in a padded block). Per lane, with n2 the blocks of
 * `second` (a padded last one counted): a = a1 + a2 and b = b1 + b2 + n2·a1, mod 2^32 — in one pass, each of
 * `second`'s blocks adds to b its own running a plus the a1 it started from.
 */
export function combineLaneSums(first: LaneSums, second: LaneSums): LaneSums {
  if (first.bytes % 16 !== 0)
    throw new RangeError(
      `lane sums combine after whole 16-byte blocks only (the first range has ${first.bytes} bytes)`,
    );
  // n2 may pass 2^32: imul takes it mod 2^32, which is all a product mod 2^32 needs.
  const n2 = Math.ceil(second.bytes / 16);
  const sums = new Int32Array(8);
  for (let k = 0; k < 4; k++) {
    sums[k] = (first.sums[k]! + second.sums[k]!) | 0;
    sums[4 + k] = (first.sums[4 + k]! + second.sums[4 + k]! + Math.imul(n2, first.sums[k]!)) | 0;
  }
  return { sums, bytes: first.bytes + second.bytes };
}

/** The 64-bit checksum (FORMAT.md step 3) of a whole input's lane sums. */
export function foldLaneSums({ sums, bytes }: LaneSums): bigint {
  let lo = 0x76666331; // "1cfv"
  let hi = 0x34366c66; // "fl64"
  for (let i = 0; i < 8; i++) {
    lo = mix32(lo ^ sums[i]!);
    hi = mix32((hi + Math.imul(sums[i]!, 0x9e3779b1)) | 0);
  }
  lo = mix32(lo ^ (bytes >>> 0));
  hi = mix32(hi ^ lo ^ Math.floor(bytes / 2 ** 32));
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** The checksum of one whole buffer (tests, small data). */
export function checksumOf(data: Buffer, forceJs = false): bigint {
  const c = new StreamChecksum(forceJs);
  c.update(data.length, data);
  return c.digest();
}
