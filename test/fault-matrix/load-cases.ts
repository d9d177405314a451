/**
 * The load fault matrix as data, for every test that feeds damaged saved files to a destination (the emulator's
 * test/fault-matrix/load.test.ts here; the real-kernel guests of test/kernel reuse it): one byte flipped in
 * each region of a saved file and a cut at each region boundary, with what the commit protocol promises for
 * each (runtime/migration/PROTOCOL.md). Pure functions over a Buffer: no runtime, no vitest.
 *
 * A saved file is `file header | device stream header | rest of the body | trailer` (runtime/stream/FORMAT.md);
 * the device stream header is the first bytes of the device's own stream, whose length each driver decides.
 */
import { TRAILER_SIZE } from '../../runtime/stream/format.js';

/**
 * Bytes of each device's own stream header. mtty: struct mtty_data up to `ports` — magic u64, major, minor,
 * nr_ports, flags u32 (samples/vfio-mdev/mtty.c, torvalds/linux 06ed87b3) = 24. The emulated hisi-acc: its
 * 40-byte compatibility prefix (runtime/emulator/personalities/hisi-acc.ts). The emulated mlx5: the first
 * record's 16-byte header and its 32-byte descriptor (personalities/mlx5.ts).
 */
export const DEVICE_STREAM_HEADER_BYTES = { mtty: 24, 'hisi-acc': 40, mlx5: 48 } as const;
export type MatrixPersonality = keyof typeof DEVICE_STREAM_HEADER_BYTES;

export type Region = 'file header' | 'device stream header' | 'body' | 'trailer';

export interface FileLayout {
  /** Where each region starts, and the file's length. */
  fileHeader: number;
  deviceHeader: number;
  body: number;
  trailer: number;
  end: number;
}

/** The regions of a saved file (the header length is the u16 at offset 10; FORMAT.md). */
export function layoutOf(file: Buffer, deviceHeaderBytes: number): FileLayout {
  const headerLength = file.readUInt16LE(10);
  return {
    fileHeader: 0,
    deviceHeader: headerLength,
    body: headerLength + deviceHeaderBytes,
    trailer: file.length - TRAILER_SIZE,
    end: file.length,
  };
}

/** What the destination must look like after the case, fed as a file or through a pipe. */
export interface Expected {
  /**
   * `untouched`: refused before any SET; `reset`: it entered RESUMING and was reset, so what it received is
   * discarded. Either way its state afterwards equals its state before the load (or a freshly reset device's).
   */
  action: 'untouched' | 'reset';
  /** The one-line message says this. */
  message: RegExp;
}

export interface LoadCase {
  name: string;
  region: Region;
  kind: 'flip' | 'cut';
  /** The damaged file made from a good one. */
  damage(good: Buffer, layout: FileLayout): Buffer;
  file: Expected;
  /** Through a pipe; a personality may refuse the bytes itself (mtty checks its header at the write). */
  pipe: Expected | ((personality: MatrixPersonality) => Expected);
}

const flip = (at: (l: FileLayout) => number) => (good: Buffer, l: FileLayout) => {
  const bad = Buffer.from(good);
  const i = at(l);
  bad[i] = bad[i]! ^ 0xff;
  return bad;
};
const cut = (at: (l: FileLayout) => number) => (good: Buffer, l: FileLayout) => Buffer.from(good.subarray(0, at(l)));
const mid = (from: number, to: number) => from + Math.floor((to - from) / 2);

const untouched = (message: RegExp): Expected => ({ action: 'untouched', message });
const reset = (message: RegExp): Expected => ({ action: 'reset', message });
const noTrailer = /truncated: the stream ends without a trailer/;
const checksumMismatch = /damaged: checksum mismatch/;

export const LOAD_CASES: readonly LoadCase[] = [
  {
    // Offset 16: the source's migration flags. Format v3 covers every header byte by the header's own checksum,
    // so this (like a flip anywhere in the header) is found before the flags are compared.
    name: 'flip a byte of the file header (migration flags)',
    region: 'file header',
    kind: 'flip',
    damage: flip((l) => l.fileHeader + 16),
    file: untouched(/has a damaged header: checksum mismatch/),
    pipe: untouched(/has a damaged header: checksum mismatch/),
  },
  {
    // mtty: byte 12 of its header is the minor version; the driver refuses the write that completes the header.
    name: "flip a byte of the device's stream header",
    region: 'device stream header',
    kind: 'flip',
    damage: flip((l) => mid(l.deviceHeader, l.body)),
    file: untouched(checksumMismatch),
    pipe: (p) =>
      p === 'mtty' || p === 'mlx5'
        ? reset(/refused the stream \(write data fd in RESUMING: EFAULT\)/)
        : reset(checksumMismatch),
  },
  {
    name: 'flip a byte of the body',
    region: 'body',
    kind: 'flip',
    damage: flip((l) => mid(l.body, l.trailer)),
    file: untouched(checksumMismatch),
    // The emulated mlx5 checks every content byte as it arrives; the others only hold what they are given.
    pipe: (p) =>
      p === 'mlx5' ? reset(/refused the stream \(write data fd in RESUMING: EFAULT\)/) : reset(checksumMismatch),
  },
  {
    // Byte 12 of the trailer is in its stream length.
    name: 'flip a byte of the trailer',
    region: 'trailer',
    kind: 'flip',
    damage: flip((l) => l.trailer + 12),
    file: untouched(/truncated or padded: the trailer promises/),
    pipe: reset(/truncated: the trailer promises \d+ bytes, \d+ arrived/),
  },
  {
    name: 'cut before the file header (empty input)',
    region: 'file header',
    kind: 'cut',
    damage: cut((l) => l.fileHeader),
    file: untouched(/is empty/),
    pipe: untouched(/is empty/),
  },
  {
    name: 'cut after the file header',
    region: 'device stream header',
    kind: 'cut',
    damage: cut((l) => l.deviceHeader),
    file: untouched(/truncated: no trailer after the header/),
    pipe: reset(noTrailer),
  },
  {
    name: "cut after the device's stream header",
    region: 'body',
    kind: 'cut',
    damage: cut((l) => l.body),
    // Fewer bytes after the header than a trailer takes (mtty's 24), or as many and read as a trailer, which they
    // are not (hisi-acc's 40, mlx5's 48).
    file: untouched(/truncated: (it does not end in a trailer|no trailer after the header)/),
    pipe: reset(noTrailer),
  },
  {
    name: 'cut before the trailer',
    region: 'trailer',
    kind: 'cut',
    damage: cut((l) => l.trailer),
    file: untouched(/truncated: it does not end in a trailer/),
    pipe: reset(noTrailer),
  },
];

export function expectedFor(c: LoadCase, feed: 'file' | 'pipe', personality: MatrixPersonality): Expected {
  const e = feed === 'file' ? c.file : c.pipe;
  return typeof e === 'function' ? e(personality) : e;
}
