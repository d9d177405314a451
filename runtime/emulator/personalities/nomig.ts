/**
 * A device with no migration at all, after QEMU's `edu` PCI device on vfio-pci (Linux 6.1 guest, behind a
 * root port; route 6.1 of `npm run test:kernel` checks these answers). vfio-pci gives it no migration ops, so MIGRATION, MIG_DEVICE_STATE
 * and MIG_DATA_SIZE answer ENOTTY (PROBE too), while the driver's own features (LOW_POWER_*) and reset work.
 * BAR0 is 1 MiB: offset 0 reads edu's id 0x010000ed, and a value written at offset 4 reads back inverted.
 */
import { VfioDeviceFlags, VfioRegionInfoFlags } from '../../../generated/constants.js';
import type { PersonalityModel } from './personality.js';
import { digestOf } from './state-digest.js';

const BAR0_BYTES = 1 << 20;
const EDU_ID = 0x010000ed;
const ID_REGISTER = 0;
const LIVENESS_REGISTER = 4;

function noMigration(): never {
  throw new Error('the nomig personality has no migration; the feature checks answer ENOTTY before this');
}

export function createNoMigration(): PersonalityModel {
  const bar0 = Buffer.alloc(BAR0_BYTES);
  bar0.writeUInt32LE(EDU_ID, ID_REGISTER);

  return {
    name: 'nomig',
    migrationFlags: 0,
    dmaLogging: 'none',
    precopyEnd: 'EOF',
    deviceInfo: { flags: VfioDeviceFlags.PCI | VfioDeviceFlags.RESET, numRegions: 9, numIrqs: 5 },
    regions: [
      {
        index: 0,
        size: BAR0_BYTES,
        flags: VfioRegionInfoFlags.READ | VfioRegionInfoFlags.WRITE | VfioRegionInfoFlags.MMAP,
      },
    ],
    regionRead(_index, offset, length) {
      return Buffer.from(bar0.subarray(offset, Math.min(offset + length, BAR0_BYTES)));
    },
    regionWrite(_index, offset, data) {
      const end = Math.min(offset + data.length, BAR0_BYTES);
      // The id register is read-only; the liveness register keeps the complement of what was written.
      for (let at = Math.max(offset, ID_REGISTER + 4); at < end; at++) bar0[at] = data[at - offset]!;
      if (offset === LIVENESS_REGISTER && data.length >= 4)
        bar0.writeUInt32LE(~data.readUInt32LE(0) >>> 0, LIVENESS_REGISTER);
    },
    stopCopyLength: noMigration,
    openSaving: noMigration,
    openResuming: noMigration,
    digest: () => digestOf('nomig', bar0),
  };
}
