/**
 * Editing saved-state files for tests, by the layout in runtime/stream/FORMAT.md (version 3): the header
 * length is at bytes 10–11, the header checksum at 40–47 (computed with those bytes zero), the trailer is the
 * last 32 bytes and repeats the header checksum at its bytes 24–31.
 */
import { checksumOf } from '../../runtime/stream/checksum.js';

export function headerLength(file: Buffer): number {
  return file.readUInt16LE(10);
}

/** Apply `edit` to the header (it may change the length), then fix both copies of the header checksum. */
export function reheader(file: Buffer, edit: (header: Buffer) => Buffer): Buffer {
  const n = headerLength(file);
  const header = Buffer.from(edit(Buffer.from(file.subarray(0, n))));
  header.writeUInt16LE(header.length, 10);
  header.fill(0, 40, 48);
  const sum = checksumOf(header);
  header.writeBigUInt64LE(sum, 40);
  const rest = Buffer.from(file.subarray(n));
  rest.writeBigUInt64LE(sum, rest.length - 8);
  return Buffer.concat([header, rest]);
}

/** A header with other identity and driver text (raw bytes, so anything can be put there). */
export function withIdentity(file: Buffer, identity: Buffer, driver: Buffer): Buffer {
  return reheader(file, (h) => {
    const fixed = Buffer.from(h.subarray(0, 48));
    fixed.writeUInt16LE(identity.length, 26);
    fixed.writeUInt16LE(driver.length, 28);
    return Buffer.concat([fixed, identity, driver]);
  });
}

/** A copy of `file` that `edit` changed in place (the original is left as it was). */
export function edited(file: Buffer, edit: (copy: Buffer) => unknown): Buffer {
  const out = Buffer.from(file);
  edit(out);
  return out;
}

/** One byte flipped (xor 0xff) at `offset`; negative counts from the end. */
export function flip(file: Buffer, offset: number): Buffer {
  return edited(file, (out) => {
    const at = offset < 0 ? out.length + offset : offset;
    out[at] = out[at]! ^ 0xff;
  });
}
