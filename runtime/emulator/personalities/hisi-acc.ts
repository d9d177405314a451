/**
 * After hisi_acc_vfio_pci (HiSilicon accelerator VFs): STOP_COPY and PRE_COPY, no P2P, no DMA logging.
 * Pre-copy offers the 40-byte compatibility prefix (magic, device id, queue count, version) so the
 * destination can refuse early; STOP_COPY extends the same buffer to the full 176-byte VF state.
 * Reads at the end answer 0. Resuming refuses more than 176 bytes (ENOMEM) and a foreign prefix (EFAULT).
 */
import { VfioDeviceFlags, VfioMigrationFlags } from '../../../generated/constants.js';
import { bytesSegment } from '../data-session.js';
import type { PersonalityModel } from './personality.js';
import { digestOf, seededBytes } from './state-digest.js';

export const HISI_MATCH_BYTES = 40;
export const HISI_STATE_BYTES = 176;
const HISI_MAGIC = 0x5041524d4d4f4343n; // our own marker; the real value is the driver's business
const DEVICE_ID = 0xa256;
const QUEUE_PAIRS = 64;

export function createHisiAcc(seed: number): PersonalityModel {
  let queueState = seededBytes(seed * 17 + 3, HISI_STATE_BYTES - HISI_MATCH_BYTES);

  function matchData(): Buffer {
    const m = Buffer.alloc(HISI_MATCH_BYTES);
    m.writeBigUInt64LE(HISI_MAGIC, 0);
    m.writeUInt32LE(DEVICE_ID, 8);
    m.writeUInt32LE(QUEUE_PAIRS, 12);
    m.writeUInt32LE(1, 16); // version
    return m;
  }

  return {
    name: 'hisi-acc',
    migrationFlags: VfioMigrationFlags.STOP_COPY | VfioMigrationFlags.PRE_COPY,
    dmaLogging: 'none',
    precopyEnd: 'EOF',
    deviceInfo: { flags: VfioDeviceFlags.PCI | VfioDeviceFlags.RESET, numRegions: 9, numIrqs: 5 },
    regions: [],
    regionRead: () => Buffer.alloc(0),
    regionWrite: () => {},
    stopCopyLength: () => BigInt(HISI_STATE_BYTES),
    openSaving(stream, phase) {
      stream.append(bytesSegment(matchData()), { initial: phase === 'pre-copy' });
      if (phase === 'stop-copy') stream.append(bytesSegment(Buffer.from(queueState)));
      return {
        enterStopCopy: () => stream.append(bytesSegment(Buffer.from(queueState))),
        onPrecopyQuery: () => false,
      };
    },
    openResuming() {
      const received: Buffer[] = [];
      let length = 0;
      return {
        maxBytes: HISI_STATE_BYTES,
        failuresStick: true,
        rejectWith: { errno: 'EFAULT', stayInResuming: false },
        accept(chunk) {
          received.push(Buffer.from(chunk));
          length += chunk.length;
          return undefined;
        },
        finish() {
          if (length === 0) return undefined;
          const all = Buffer.concat(received);
          // The compatibility check: a stream from another kind of device is refused.
          if (length < HISI_MATCH_BYTES || !all.subarray(0, HISI_MATCH_BYTES).equals(matchData()))
            return { errno: 'EFAULT', stayInResuming: false };
          if (length === HISI_STATE_BYTES) queueState = Buffer.from(all.subarray(HISI_MATCH_BYTES));
          else if (length !== HISI_MATCH_BYTES) return { errno: 'EFAULT', stayInResuming: false };
          return undefined;
        },
      };
    },
    digest: () => digestOf('hisi-acc', matchData(), queueState),
  };
}
