/**
 * A file that is truncated, foreign, of an old format or damaged anywhere is refused before the device is touched:
 * no MIG_DEVICE_STATE SET reaches it (the emulator's SET log does not grow), its state digest is unchanged, and
 * the error says so (`untouched`, RUNNING). Damage deep in the body counts too: the whole file's checksum is
 * verified before RESUMING.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadDevice, openDevices, saveDevice, VfioError, type Device } from '../../runtime/index.js';
import { tempDir } from './helpers.js';

const tmp = tempDir();
let source: Device;
let destination: Device;
let good: Buffer;
beforeAll(async () => {
  [source, destination] = await openDevices(['emulated:hisi-acc', 'emulated:hisi-acc']);
  await saveDevice(source, tmp.file('good.vfio'), { finalState: 'RUNNING' });
  good = readFileSync(tmp.file('good.vfio'));
  // header 82 (48 + identity "emulated:hisi-acc" + driver "emulated-hisi-acc"), body 176, trailer 32 (FORMAT.md)
  expect(good.length).toBe(82 + 176 + 32);
});
afterAll(async () => {
  await source.close();
  await destination.close();
  tmp.remove();
});

/** Flip the byte `offset` bytes into the body (the header's length is the u16 at offset 10). */
const flipInBody = (offset: number) => (b: Buffer) => {
  const bad = Buffer.from(b);
  const at = b.readUInt16LE(10) + offset;
  bad[at] = bad[at]! ^ 0xff;
  return bad;
};

it.each([
  ['truncated', (b: Buffer) => b.subarray(0, b.length - 10), /truncated/],
  ['foreign', () => Buffer.from('#!/bin/sh\necho not a state file\n'), /not a vfio-uapi state file/],
  ['a flipped byte in the device stream header (body byte 3)', flipInBody(3), /checksum mismatch/],
  ['a flipped byte deep in the body (body byte 143)', flipInBody(143), /checksum mismatch/],
  ['a flipped byte in the last body byte (body byte 175)', flipInBody(175), /checksum mismatch/],
  [
    'format version 1 (CRC-32 trailer)',
    (b: Buffer) => {
      const old = Buffer.from(b);
      old.writeUInt16LE(1, 8);
      return old;
    },
    /format version 1 .*reads version 3/,
  ],
] as const)('%s input is refused before any SET, the state kept', async (name, damage, message) => {
  writeFileSync(tmp.file(`${name}.vfio`), damage(good));
  const before = (await destination.snapshot())!;
  const e = (await loadDevice(destination, tmp.file(`${name}.vfio`)).catch((x: unknown) => x)) as VfioError;
  expect(e).toBeInstanceOf(VfioError);
  expect(e.kind).toBe('bad-stream');
  expect(e.message).toMatch(message);
  expect(e.outcome).toEqual([
    { role: 'destination', device: 'emulated:hisi-acc', state: 'RUNNING', action: 'untouched' },
  ]);
  expect(e.message).toMatch(/— destination emulated:hisi-acc untouched, now RUNNING$/);
  const after = (await destination.snapshot())!;
  expect(after.requests).toEqual(before.requests);
  expect(after.digest).toBe(before.digest);
  expect(after.state).toBe('RUNNING');
  expect(after.openDataFds).toBe(0);
});
