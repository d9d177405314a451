/**
 * The saved-state file: a small header, the device's migration stream exactly as read, and a trailer with
 * the stream length and a 64-bit checksum of it (checksum.ts). Described for people in FORMAT.md (keep the two in step).
 */
import { FEATURES } from '../../generated/constants.js';
import { VfioError } from '../errors.js';

export const MAGIC = 'VFIOSTAT';
export const TRAILER_MAGIC = 'VFIOEND\0';
/** 2: the trailer holds the lanes-fletcher-64 checksum. 1 (CRC-32) is refused: its check cost 30% of a save. */
export const FORMAT_VERSION = 2;
/** Bytes of the fixed part of the header; the identity string follows. */
export const HEADER_FIXED = 40;
export const TRAILER_SIZE = 24;
const MAX_IDENTITY = 1024;

/** The newest kernel release any item of the spec comes from: the uAPI version the stream was made with. */
export const UAPI_VERSION: string = Object.values(FEATURES)
  .map((f) => f.since)
  .sort((a, b) => compareRelease(a, b))
  .at(-1)!;

function compareRelease(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am - bm || an - bn;
}

export interface StreamHeader {
  formatVersion: number;
  /** VFIO_DEVICE_FEATURE_MIGRATION flags of the source. */
  migrationFlags: number;
  /** vfio_device_info.flags of the source (bus type, reset support). */
  deviceFlags: number;
  /** The spec's uAPI version, e.g. "7.1". */
  uapiVersion: string;
  /** When the stream was written (ms since the epoch). */
  createdMs: number;
  /** Who made it: `emulated:mlx5`, a PCI address or a device path. */
  identity: string;
}

export function encodeHeader(h: Omit<StreamHeader, 'formatVersion'>): Buffer {
  const id = Buffer.from(h.identity, 'utf8').subarray(0, MAX_IDENTITY);
  const buf = Buffer.alloc(HEADER_FIXED + id.length);
  const [major = 0, minor = 0] = h.uapiVersion.split('.').map(Number);
  buf.write(MAGIC, 0, 'latin1');
  buf.writeUInt16LE(FORMAT_VERSION, 8);
  buf.writeUInt16LE(buf.length, 10);
  buf.writeUInt32LE(h.deviceFlags >>> 0, 12);
  buf.writeBigUInt64LE(BigInt(h.migrationFlags), 16);
  buf.writeUInt8(major, 24);
  buf.writeUInt8(minor, 25);
  buf.writeUInt16LE(id.length, 26);
  buf.writeUInt32LE(0, 28);
  buf.writeBigUInt64LE(BigInt(h.createdMs), 32);
  id.copy(buf, HEADER_FIXED);
  return buf;
}

function badStream(message: string, hint?: string): VfioError {
  return new VfioError(message, { kind: 'bad-stream', op: 'read stream header', fdKind: 'stream', hint });
}

/** Check the fixed 40 bytes; returns the identity length still to read. */
export function checkHeaderFixed(fixed: Buffer): { identityLength: number } {
  // Magic first: a short foreign file is foreign, not "truncated".
  const seen = Math.min(8, fixed.length);
  if (seen === 0 || fixed.toString('latin1', 0, seen) !== MAGIC.slice(0, seen))
    throw badStream('the input is not a vfio-uapi state file (bad magic)', 'use --raw to load a bare migration stream');
  if (fixed.length < HEADER_FIXED)
    throw badStream(`the input is truncated: ${fixed.length} bytes, shorter than a header`);
  const version = fixed.readUInt16LE(8);
  if (version === 1)
    throw badStream(
      'the input has format version 1 (CRC-32 trailer, from an older vfio-uapi); this tool reads version 2',
      'save it again with this version, or strip header and trailer and load the bare stream with --raw (FORMAT.md)',
    );
  if (version !== FORMAT_VERSION)
    throw badStream(`the input has format version ${version}; this tool reads version ${FORMAT_VERSION}`);
  const identityLength = fixed.readUInt16LE(26);
  if (fixed.readUInt16LE(10) !== HEADER_FIXED + identityLength || identityLength > MAX_IDENTITY)
    throw badStream('the input header is inconsistent (header length does not match its identity)');
  return { identityLength };
}

export function decodeHeader(fixed: Buffer, identity: Buffer): StreamHeader {
  return {
    formatVersion: fixed.readUInt16LE(8),
    deviceFlags: fixed.readUInt32LE(12),
    migrationFlags: Number(fixed.readBigUInt64LE(16)),
    uapiVersion: `${fixed.readUInt8(24)}.${fixed.readUInt8(25)}`,
    createdMs: Number(fixed.readBigUInt64LE(32)),
    identity: identity.toString('utf8'),
  };
}

export function encodeTrailer(streamBytes: number, checksum: bigint): Buffer {
  const buf = Buffer.alloc(TRAILER_SIZE);
  buf.write(TRAILER_MAGIC, 0, 'latin1');
  buf.writeBigUInt64LE(BigInt(streamBytes), 8);
  buf.writeBigUInt64LE(checksum, 16);
  return buf;
}

export function decodeTrailer(buf: Buffer): { streamBytes: number; checksum: bigint } | null {
  if (buf.length !== TRAILER_SIZE || buf.toString('latin1', 0, 8) !== TRAILER_MAGIC) return null;
  return { streamBytes: Number(buf.readBigUInt64LE(8)), checksum: buf.readBigUInt64LE(16) };
}

/** A checksum as people and JSON see it: 16 hex digits. */
export function checksumHex(checksum: bigint): string {
  return checksum.toString(16).padStart(16, '0');
}
