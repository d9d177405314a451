/**
 * The nomig personality against what a device with no migration driver answered on a real kernel (QEMU's edu
 * on vfio-pci, Linux 6.1, as route 6.1 of `npm run test:kernel` checks it): migration features are ENOTTY, PROBE included; the
 * driver's low-power features, GET_INFO, reset and BAR0 work.
 */
import koffi from 'koffi';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_REGION_INFO, VFIO_DEVICE_RESET } from '../../generated/constants.js';
import { pread } from '../../runtime/sys/libc.js';
import { startEmulator, type EmulatorHandle } from '../../runtime/emulator/index.js';
import { feature, openViaGroup, rawFeature, rawIoctl, result, setState, State } from './raw.js';
import { featureFlags } from '../../generated/validators.js';

const pwrite = koffi.load('libc.so.6').func('int64_t pwrite(int, const void *, size_t, int64_t)') as (
  fd: number,
  b: Buffer,
  n: number,
  o: number,
) => number;

let emu: EmulatorHandle;
let device: number;

beforeAll(async () => {
  emu = await startEmulator({ devices: [{ personality: 'nomig' }] });
  const d = emu.devices[0]!;
  device = openViaGroup(emu.containerPath, d.groupPath, d.groupDeviceName).device as number;
});
afterAll(() => emu.stop());

it('answers ENOTTY to every migration feature, PROBE included', () => {
  for (const name of [
    'VFIO_DEVICE_FEATURE_MIGRATION',
    'VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE',
    'VFIO_DEVICE_FEATURE_MIG_DATA_SIZE',
  ] as const) {
    expect(feature(device, name, 'GET', Buffer.alloc(8)).ret, name).toBe('ENOTTY');
    expect(rawFeature(device, 8, featureFlags(name, 'PROBE_GET')), name).toBe('ENOTTY');
  }
  expect(rawFeature(device, 8, featureFlags('VFIO_DEVICE_FEATURE_MIGRATION', 'PROBE'))).toBe('ENOTTY');
  expect(setState(device, State.STOP).ret).toBe('ENOTTY');
  expect(rawFeature(device, 8, featureFlags('VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2', 'SET'))).toBe('ENOTTY');
  expect(rawFeature(device, 8, featureFlags('VFIO_DEVICE_FEATURE_DMA_LOGGING_START', 'PROBE_SET'))).toBe('ENOTTY');
});

it('keeps the header checks that come before the feature: unknown flag bit, GET|SET, short argsz', () => {
  expect(rawFeature(device, 16, (1 << 20) | 0x10000 | 1)).toBe('EINVAL');
  expect(rawFeature(device, 16, 0x30000 | 1)).toBe('EINVAL');
  expect(rawFeature(device, 4, 0x10000 | 1)).toBe('EINVAL');
  expect(rawFeature(device, 8, 0x60000 | 0)).toBe('ENOTTY'); // PCI_VF_TOKEN: not an SR-IOV PF
});

it('accepts PROBE|SET LOW_POWER_ENTRY; GET_INFO, region 0 and reset work', () => {
  expect(rawFeature(device, 8, featureFlags('VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY', 'PROBE_SET'))).toBe(0);
  const info = Buffer.alloc(24);
  info.writeUInt32LE(24, 0);
  expect(rawIoctl(device, VFIO_DEVICE_GET_INFO, info)).toBe(0);
  expect([info.readUInt32LE(4), info.readUInt32LE(8), info.readUInt32LE(12)]).toEqual([3, 9, 5]);
  const region = Buffer.alloc(32);
  region.writeUInt32LE(32, 0);
  expect(rawIoctl(device, VFIO_DEVICE_GET_REGION_INFO, region)).toBe(0);
  expect([region.readUInt32LE(4), region.readBigUInt64LE(16)]).toEqual([7, 1n << 20n]);
  expect(rawIoctl(device, VFIO_DEVICE_RESET, 0)).toBe(0);
});

it("BAR0 reads edu's id, and the liveness register reads back inverted", () => {
  const word = Buffer.alloc(4);
  expect(result(pread(device, word, 4, 0))).toBe(4);
  expect(word.readUInt32LE(0)).toBe(0x010000ed);
  word.writeUInt32LE(0x12345678);
  expect(result(pwrite(device, word, 4, 4))).toBe(4);
  expect(result(pread(device, word, 4, 4))).toBe(4);
  expect(word.readUInt32LE(0)).toBe(~0x12345678 >>> 0);
});
