/**
 * Format v3 (runtime/stream/FORMAT.md): every byte of the header is covered (each single flip is refused),
 * its text is printable and bounded on the way in and out, the trailer's length field is validated, and the
 * compatibility check names both sides and every difference.
 */
import { describe, expect, it } from 'vitest';
import { VfioError } from '../../runtime/errors.js';
import {
  checkHeaderFixed,
  decodeHeader,
  decodeTrailer,
  encodeHeader,
  encodeTrailer,
  HEADER_FIXED,
  incompatibility,
  MAX_DRIVER,
  MAX_IDENTITY,
  printable,
  TRAILER_SIZE,
  type HeaderFields,
} from '../../runtime/stream/format.js';

const FIELDS: HeaderFields = {
  deviceFlags: 0x3,
  migrationFlags: 0x7,
  uapiVersion: '7.1',
  createdMs: 1_780_000_000_000,
  identity: '0000:3b:00.1',
  driver: 'mlx5_vfio_pci',
};

/** Decode a whole header buffer the way load does: the fixed part, then the rest it announces. */
function decode(buf: Buffer) {
  const { headerLength } = checkHeaderFixed(buf.subarray(0, HEADER_FIXED));
  return decodeHeader(buf.subarray(0, HEADER_FIXED), buf.subarray(HEADER_FIXED, headerLength));
}

describe('the header', () => {
  const good = encodeHeader(FIELDS);

  it('decodes to what was encoded', () => {
    expect(decode(good)).toMatchObject({ ...FIELDS, formatVersion: 3, headerLength: good.length });
  });

  it.each([...Array(good.length).keys()])('a flip of byte %i is refused as a bad stream', (at) => {
    const bad = Buffer.from(good);
    bad[at] = bad[at]! ^ 0x01;
    let error: unknown = null;
    try {
      decode(bad);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(VfioError);
    expect((error as VfioError).kind).toBe('bad-stream');
  });

  it('text is made printable and cut to its bound when written', () => {
    const h = decode(
      encodeHeader({ ...FIELDS, identity: `\x1b]0;title\x07dev\u202e${'é'.repeat(300)}`, driver: 'x'.repeat(100) }),
    );
    expect(h.identity.startsWith('?]0;title?dev?é')).toBe(true);
    expect(Buffer.byteLength(h.identity)).toBeLessThanOrEqual(MAX_IDENTITY);
    expect(Buffer.byteLength(h.identity) % 2).toBe(0); // 'é' is 2 bytes: never cut in half ('?]0;title?dev?' is 14)
    expect(h.driver).toBe('x'.repeat(MAX_DRIVER));
  });

  it('printable() replaces controls and bidirectional overrides, keeps other text', () => {
    expect(printable('a\tb\nc\x7f\x9bd\u2066e', 100)).toBe('a?b?c??d?e');
    expect(printable('żółw', 5)).toBe('żó');
  });

  it('version 2 names the exact cut that loads its body with --raw', () => {
    const v2 = Buffer.from(good);
    v2.writeUInt16LE(2, 8);
    v2.writeUInt16LE(77, 10);
    expect(() => checkHeaderFixed(v2)).toThrow(/format version 2 .*tail -c \+78 FILE \| head -c -24/);
  });
});

describe('the trailer', () => {
  it('round-trips, with the header checksum', () => {
    const t = encodeTrailer(123, 0xabcdefn, 0x1234n);
    expect(t.length).toBe(TRAILER_SIZE);
    expect(decodeTrailer(t)).toEqual({ streamBytes: 123, checksum: 0xabcdefn, headerChecksum: 0x1234n });
  });

  it('a length no file can have is refused, printed exactly', () => {
    const t = encodeTrailer(0, 0n, 0n);
    t.writeBigUInt64LE(1n << 63n, 8);
    expect(() => decodeTrailer(t, 'f.vfio')).toThrow(
      'f.vfio has a damaged trailer: it gives a stream length of 9223372036854775808 bytes',
    );
  });
});

describe('incompatibility()', () => {
  const mlx5 = { name: 'src', driver: 'mlx5_vfio_pci', migrationFlags: 7, deviceFlags: 0x3 };
  it('is null for the same driver and flags', () => {
    expect(incompatibility(mlx5, { ...mlx5, name: 'dst' })).toBeNull();
  });
  it('names both sides and every difference', () => {
    expect(incompatibility(mlx5, { name: 'dst', driver: 'mtty', migrationFlags: 1, deviceFlags: 0x5 })).toBe(
      'dst cannot take a stream from src: driver mlx5_vfio_pci vs mtty, migration flags 0x7 STOP_COPY+P2P+PRE_COPY vs 0x1 STOP_COPY, bus flags 0x2 vs 0x4',
    );
  });
  it('does not hold an unknown driver against a device', () => {
    expect(incompatibility({ ...mlx5, driver: '' }, { ...mlx5, name: 'dst', driver: 'mlx5_vfio_pci' })).toBeNull();
  });
});
