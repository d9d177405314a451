/** A truncated or foreign file is refused before the device leaves RUNNING (no MIG_DEVICE_STATE SET). */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadDevice, openDevices, saveDevice, VfioError, type Device } from '../../runtime/index.js';
import { tempDir } from './helpers.js';

const tmp = tempDir();
let d: Device[] = [];
beforeAll(async () => {
  d = await openDevices(['emulated:hisi-acc', 'emulated:hisi-acc']);
  await saveDevice(d[0]!, tmp.file('good.vfio'), { finalState: 'RUNNING' });
});
afterAll(async () => {
  for (const x of d) await x.close();
  tmp.remove();
});

it.each([
  ['truncated', (b: Buffer) => b.subarray(0, b.length - 10), /truncated/],
  ['foreign', () => Buffer.from('#!/bin/sh\necho not a state file\n'), /not a vfio-uapi state file/],
  [
    'one flipped byte',
    (b: Buffer) => Buffer.concat([b.subarray(0, 60), Buffer.from([b[60]! ^ 0xff]), b.subarray(61)]),
    /checksum mismatch/,
  ],
  [
    'format version 1 (CRC-32 trailer)',
    (b: Buffer) => {
      const old = Buffer.from(b);
      old.writeUInt16LE(1, 8);
      return old;
    },
    /format version 1 .*reads version 3/,
  ],
] as const)('%s input is refused', async (name, damage, message) => {
  writeFileSync(tmp.file(`${name}.vfio`), damage(readFileSync(tmp.file('good.vfio'))));
  const e = (await loadDevice(d[1]!, tmp.file(`${name}.vfio`)).catch((x: unknown) => x)) as VfioError;
  expect(e).toBeInstanceOf(VfioError);
  expect(e.kind).toBe('bad-stream');
  expect(e.message).toMatch(message);
  expect(d[1]!.state()).toBe('RUNNING');
  expect((await d[1]!.snapshot())!.openDataFds).toBe(0);
});
