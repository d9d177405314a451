/**
 * The saved-state file (version 3): a header that names the device the stream is for and carries its own
 * checksum, the device's migration stream exactly as read, and a trailer with the stream length, a 64-bit
 * checksum of it (checksum.ts) and the header's checksum again (so a header cannot be spliced onto another
 * body). Described for people in FORMAT.md (keep the two in step).
 */
import { FEATURES, VfioDeviceFlags, VfioMigrationFlags } from '../../generated/constants.js';
import { VfioError } from '../errors.js';
import { checksumOf } from './checksum.js';

export const MAGIC = 'VFIOSTAT';
export const TRAILER_MAGIC = 'VFIOEND\0';
/**
 * 3: the header has its own checksum, names the source's driver, and its text is bounded and printable; the
 * trailer repeats the header checksum. 2 (no header checksum) and 1 (CRC-32 trailer) are refused, with how
 * to load their body with --raw.
 */
export const FORMAT_VERSION = 3;
/** Bytes of the fixed part of the header; the identity and the driver name follow. */
export const HEADER_FIXED = 48;
export const TRAILER_SIZE = 32;
/** Longest identity, in UTF-8 bytes. */
export const MAX_IDENTITY = 256;
/** Longest driver name, in UTF-8 bytes. */
export const MAX_DRIVER = 64;
/** Where the header checksum sits in the header (it is computed with these 8 bytes zero). */
const HEADER_CHECKSUM_AT = 40;
/** Version 2's layout, only to say how to cut its body out. */
const V2_TRAILER_SIZE = 24;

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
  /** Who made it: `emulated:mlx5`, a PCI address or a device path. Printable, at most MAX_IDENTITY bytes. */
  identity: string;
  /** The source's driver (`mlx5_vfio_pci`, `mtty`, `emulated-mlx5`), or "" when it was not known. */
  driver: string;
  /** The header's own checksum, which the trailer repeats. */
  headerChecksum: bigint;
  /** Bytes of the whole header. */
  headerLength: number;
}

export type HeaderFields = Omit<StreamHeader, 'formatVersion' | 'headerChecksum' | 'headerLength'>;

/**
 * Text as a header carries it: characters that could move a terminal's cursor or colour its output (C0
 * and C1 controls, DEL, bidirectional overrides) become `?`, and it is cut to `max` bytes of UTF-8 on a
 * character boundary.
 */
export function printable(text: string, max: number): string {
  let out = '';
  let bytes = 0;
  for (const ch of text.replace(UNPRINTABLE, '?')) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > max) break;
    out += ch;
    bytes += n;
  }
  return out;
}
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufffd]/g;

/** The header's checksum: lanes-fletcher-64 of its bytes with the checksum field zero. */
function headerChecksumOf(header: Buffer): bigint {
  const copy = Buffer.from(header);
  copy.fill(0, HEADER_CHECKSUM_AT, HEADER_CHECKSUM_AT + 8);
  return checksumOf(copy);
}

export function encodeHeader(h: HeaderFields): Buffer {
  const id = Buffer.from(printable(h.identity, MAX_IDENTITY), 'utf8');
  const driver = Buffer.from(printable(h.driver, MAX_DRIVER), 'utf8');
  const buf = Buffer.alloc(HEADER_FIXED + id.length + driver.length);
  const [major = 0, minor = 0] = h.uapiVersion.split('.').map(Number);
  buf.write(MAGIC, 0, 'latin1');
  buf.writeUInt16LE(FORMAT_VERSION, 8);
  buf.writeUInt16LE(buf.length, 10);
  buf.writeUInt32LE(h.deviceFlags >>> 0, 12);
  buf.writeBigUInt64LE(BigInt(h.migrationFlags), 16);
  buf.writeUInt8(major, 24);
  buf.writeUInt8(minor, 25);
  buf.writeUInt16LE(id.length, 26);
  buf.writeUInt16LE(driver.length, 28);
  buf.writeUInt16LE(0, 30);
  buf.writeBigUInt64LE(BigInt(h.createdMs), 32);
  id.copy(buf, HEADER_FIXED);
  driver.copy(buf, HEADER_FIXED + id.length);
  buf.writeBigUInt64LE(headerChecksumOf(buf), HEADER_CHECKSUM_AT);
  return buf;
}

function badStream(message: string, hint?: string): VfioError {
  return new VfioError(message, { kind: 'bad-stream', op: 'read stream header', fdKind: 'stream', hint });
}

/** How to load the body of an older file with --raw: exact byte counts from its own header. */
function rawHint(headerLength: number, trailerBytes: number): string {
  return (
    `its body loads with --raw once cut out: tail -c +${headerLength + 1} FILE | head -c -${trailerBytes} | ` +
    'vfio-uapi load DEVICE - --raw (FORMAT.md)'
  );
}

/** Check the fixed bytes (as many as the input had, up to HEADER_FIXED); returns the lengths still to read. */
export function checkHeaderFixed(fixed: Buffer, name = 'the input'): { headerLength: number } {
  // Magic first: a short foreign file is foreign, not "truncated".
  const seen = Math.min(8, fixed.length);
  if (seen === 0 || fixed.toString('latin1', 0, seen) !== MAGIC.slice(0, seen))
    throw badStream(`${name} is not a vfio-uapi state file (bad magic)`, 'use --raw to load a bare migration stream');
  if (fixed.length < 10) throw badStream(`${name} is truncated: ${fixed.length} bytes, shorter than a header`);
  const version = fixed.readUInt16LE(8);
  if (version === 1)
    throw badStream(
      `${name} has format version 1 (CRC-32 trailer, from an older vfio-uapi); this tool reads version ${FORMAT_VERSION}`,
      'save it again with this version, or strip header and trailer and load the bare stream with --raw (FORMAT.md)',
    );
  if (version === 2 && fixed.length >= 12)
    throw badStream(
      `${name} has format version 2 (its header has no checksum); this tool reads version ${FORMAT_VERSION}`,
      rawHint(fixed.readUInt16LE(10), V2_TRAILER_SIZE),
    );
  if (version !== FORMAT_VERSION)
    throw badStream(`${name} has format version ${version}; this tool reads version ${FORMAT_VERSION}`);
  if (fixed.length < HEADER_FIXED)
    throw badStream(`${name} is truncated: ${fixed.length} bytes, shorter than a header`);
  const headerLength = fixed.readUInt16LE(10);
  const identityLength = fixed.readUInt16LE(26);
  const driverLength = fixed.readUInt16LE(28);
  if (
    identityLength > MAX_IDENTITY ||
    driverLength > MAX_DRIVER ||
    headerLength !== HEADER_FIXED + identityLength + driverLength ||
    fixed.readUInt16LE(30) !== 0
  )
    throw badStream(`${name} has a damaged header (its lengths do not add up)`);
  return { headerLength };
}

/** Decode text the header carries; it must be UTF-8 and printable (the writer made it so). */
function headerText(bytes: Buffer, what: string, name: string): string {
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes) || printable(text, bytes.length) !== text)
    throw badStream(`${name} has a damaged header (its ${what} is not printable UTF-8 text)`);
  return text;
}

/** Decode and verify the whole header (HEADER_FIXED bytes, then `rest`: identity and driver). */
export function decodeHeader(fixed: Buffer, rest: Buffer, name = 'the input'): StreamHeader {
  const whole = Buffer.concat([fixed.subarray(0, HEADER_FIXED), rest]);
  const stored = whole.readBigUInt64LE(HEADER_CHECKSUM_AT);
  const computed = headerChecksumOf(whole);
  if (stored !== computed)
    throw badStream(
      `${name} has a damaged header: checksum mismatch (header ${checksumHex(stored)}, computed ${checksumHex(computed)})`,
    );
  const identityLength = whole.readUInt16LE(26);
  const createdMs = whole.readBigUInt64LE(32);
  const migrationFlags = whole.readBigUInt64LE(16);
  if (createdMs > BigInt(Number.MAX_SAFE_INTEGER) || migrationFlags > 0xffffffffn)
    throw badStream(`${name} has a damaged header (a field is out of range)`);
  return {
    formatVersion: whole.readUInt16LE(8),
    headerLength: whole.length,
    deviceFlags: whole.readUInt32LE(12),
    migrationFlags: Number(migrationFlags),
    uapiVersion: `${whole.readUInt8(24)}.${whole.readUInt8(25)}`,
    createdMs: Number(createdMs),
    identity: headerText(whole.subarray(HEADER_FIXED, HEADER_FIXED + identityLength), 'identity', name),
    driver: headerText(whole.subarray(HEADER_FIXED + identityLength), 'driver name', name),
    headerChecksum: stored,
  };
}

export interface Trailer {
  streamBytes: number;
  checksum: bigint;
  headerChecksum: bigint;
}

export function encodeTrailer(streamBytes: number, checksum: bigint, headerChecksum: bigint): Buffer {
  const buf = Buffer.alloc(TRAILER_SIZE);
  buf.write(TRAILER_MAGIC, 0, 'latin1');
  buf.writeBigUInt64LE(BigInt(streamBytes), 8);
  buf.writeBigUInt64LE(checksum, 16);
  buf.writeBigUInt64LE(headerChecksum, 24);
  return buf;
}

/** The trailer, or null when `buf` is not one. A length no file can have is damage, reported exactly. */
export function decodeTrailer(buf: Buffer, name = 'the input'): Trailer | null {
  if (buf.length !== TRAILER_SIZE || buf.toString('latin1', 0, 8) !== TRAILER_MAGIC) return null;
  const length = buf.readBigUInt64LE(8);
  if (length > BigInt(Number.MAX_SAFE_INTEGER))
    throw badStream(`${name} has a damaged trailer: it gives a stream length of ${length} bytes`);
  return { streamBytes: Number(length), checksum: buf.readBigUInt64LE(16), headerChecksum: buf.readBigUInt64LE(24) };
}

/** A checksum as people and JSON see it: 16 hex digits. */
export function checksumHex(checksum: bigint): string {
  return checksum.toString(16).padStart(16, '0');
}

// ---- can this destination take that stream? ----

/** What decides whether a device can take another's stream: as a header records it, or as a device is. */
export interface StreamFacts {
  /** For messages: the device string, or the file's identity. */
  name: string;
  driver: string;
  migrationFlags: number;
  deviceFlags: number;
}

/** The bus bits of vfio_device_info.flags: a PCI device's stream cannot go into a platform device. */
const BUS_FLAGS =
  VfioDeviceFlags.PCI |
  VfioDeviceFlags.PLATFORM |
  VfioDeviceFlags.AMBA |
  VfioDeviceFlags.CCW |
  VfioDeviceFlags.AP |
  VfioDeviceFlags.FSL_MC |
  VfioDeviceFlags.CDX;

function migrationFlagNames(flags: number): string {
  const names = Object.entries(VfioMigrationFlags)
    .filter(([, bit]) => typeof bit === 'number' && flags & bit)
    .map(([n]) => n);
  return `0x${flags.toString(16)}${names.length ? ` ${names.join('+')}` : ''}`;
}

/**
 * Why `destination` cannot take a stream from `source` (another driver, other migration flags, another
 * bus), naming both; null when it can. A driver unknown on either side is not held against it.
 */
export function incompatibility(source: StreamFacts, destination: StreamFacts): string | null {
  const differences: string[] = [];
  if (source.driver && destination.driver && source.driver !== destination.driver)
    differences.push(`driver ${source.driver} vs ${destination.driver}`);
  if (source.migrationFlags !== destination.migrationFlags)
    differences.push(
      `migration flags ${migrationFlagNames(source.migrationFlags)} vs ${migrationFlagNames(destination.migrationFlags)}`,
    );
  if (
    (source.deviceFlags & BUS_FLAGS) !== (destination.deviceFlags & BUS_FLAGS) &&
    source.deviceFlags &&
    destination.deviceFlags
  )
    differences.push(
      `bus flags 0x${(source.deviceFlags & BUS_FLAGS).toString(16)} vs 0x${(destination.deviceFlags & BUS_FLAGS).toString(16)}`,
    );
  if (!differences.length) return null;
  return `${destination.name} cannot take a stream from ${source.name}: ${differences.join(', ')}`;
}
