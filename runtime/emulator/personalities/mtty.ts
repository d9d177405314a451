/**
 * After the kernel's mtty sample (a virtual serial card, 2 ports here, like the `mtty-2` type): STOP_COPY, P2P
 * and PRE_COPY. Pre-copy offers only the 24-byte header; STOP_COPY adds 36 bytes per port. Reads at the end
 * answer 0, never ENOMSG. Each port's UART registers are BAR `port` and can be read and written with
 * pread/pwrite on a group-obtained device fd; they travel with the migration stream. DMA logging is mtty's
 * stateless stub (see dma-logging.ts for what REPORT answers and why).
 *
 * Resuming, as samples/vfio-mdev/mtty.c does it (mtty_resume_write, mtty_load_state; torvalds/linux
 * 06ed87b3, the same in the 6.12 and 7.3 guests of test/kernel):
 *  - a write that would go past the whole state (24 + 36 per port) fails with ENOMEM and counts nothing;
 *  - the write whose bytes complete the 24-byte header checks it — magic, major 1, minor 0, flags 0, the port
 *    count — and fails with EFAULT when any differs; the bytes are kept and counted all the same, and later
 *    writes are not checked again;
 *  - RESUMING → STOP loads the ports if all bytes arrived and fails with EINVAL otherwise, leaving the device
 *    in RESUMING (mtty's set_state only moves its state after a step succeeds); it does not look at the
 *    header again, so a refused header with the rest of the bytes behind it would be loaded — which is why the
 *    runtime resets a destination that refused anything (PROTOCOL.md).
 *  - VFIO_DEVICE_RESET (mtty_reset via the deferred reset in mtty_state_mutex_unlock) only sets the migration
 *    state to RUNNING and disables the migration files: the UART registers and FIFO keep their values. The
 *    device model's reset (device-model.ts) leaves the personality's ports alone, the same.
 */
import { VfioDeviceFlags, VfioMigrationFlags, VfioRegionInfoFlags } from '../../../generated/constants.js';
import { bytesSegment, type OutgoingStream } from '../data-session.js';
import type { PersonalityModel, ResumingBehaviour } from './personality.js';
import { digestOf, seededBytes } from './state-digest.js';

export const MTTY_MAGIC = 0x7e9d09898c3e2c4en;
export const MTTY_HEADER_BYTES = 24;
export const MTTY_PORT_BYTES = 36;
/** UART registers per port, exposed as a BAR. */
const UART_REGISTERS = 8;

export function createMtty(seed: number, nrPorts = 2): PersonalityModel {
  // Each port: 8 UART registers, then FIFO contents and counters (opaque here).
  let ports = Array.from({ length: nrPorts }, (_, i) => seededBytes(seed * 31 + i, MTTY_PORT_BYTES));
  const total = MTTY_HEADER_BYTES + nrPorts * MTTY_PORT_BYTES;

  function header(): Buffer {
    const h = Buffer.alloc(MTTY_HEADER_BYTES);
    h.writeBigUInt64LE(MTTY_MAGIC, 0);
    h.writeUInt32LE(1, 8); // major
    h.writeUInt32LE(0, 12); // minor
    h.writeUInt32LE(nrPorts, 16);
    h.writeUInt32LE(0, 20); // flags
    return h;
  }

  const portsSnapshot = () => Buffer.concat(ports.map((p) => Buffer.from(p)));

  function openResuming(): ResumingBehaviour {
    const received: Buffer[] = [];
    let length = 0;
    return {
      maxBytes: total,
      failuresStick: false,
      rejectWith: { errno: 'EINVAL', stayInResuming: true },
      accept(chunk) {
        // Kept and counted whatever the header check says, as mtty_resume_write does.
        received.push(Buffer.from(chunk));
        const before = length;
        length += chunk.length;
        if (before < MTTY_HEADER_BYTES && length >= MTTY_HEADER_BYTES) {
          const h = Buffer.concat(received).subarray(0, MTTY_HEADER_BYTES);
          const ok =
            h.readBigUInt64LE(0) === MTTY_MAGIC &&
            h.readUInt32LE(8) === 1 && // major
            h.readUInt32LE(12) === 0 && // minor
            h.readUInt32LE(16) === nrPorts &&
            h.readUInt32LE(20) === 0; // flags
          if (!ok) return 'EFAULT';
        }
        return undefined;
      },
      finish() {
        // mtty_load_state wants the whole stream: anything shorter, an empty one included, is EINVAL, and the
        // device stays in RESUMING (mtty only moves its state after a step succeeds) until reset.
        if (length < total) return { errno: 'EINVAL', stayInResuming: true };
        const all = Buffer.concat(received);
        ports = ports.map((_, i) =>
          Buffer.from(
            all.subarray(MTTY_HEADER_BYTES + i * MTTY_PORT_BYTES, MTTY_HEADER_BYTES + (i + 1) * MTTY_PORT_BYTES),
          ),
        );
        return undefined;
      },
    };
  }

  return {
    name: 'mtty',
    migrationFlags: VfioMigrationFlags.STOP_COPY | VfioMigrationFlags.P2P | VfioMigrationFlags.PRE_COPY,
    dmaLogging: 'stub',
    precopyEnd: 'EOF',
    // mtty_get_device_info: VFIO_DEVICE_FLAGS_PCI only, no RESET flag (VFIO_DEVICE_RESET still answers 0);
    // the real 7.3 guest reported flags 0x2.
    deviceInfo: { flags: VfioDeviceFlags.PCI, numRegions: 9, numIrqs: 5 },
    regions: ports.map((_, index) => ({
      index,
      size: UART_REGISTERS,
      flags: VfioRegionInfoFlags.READ | VfioRegionInfoFlags.WRITE,
    })),
    regionRead(index, offset, length) {
      return Buffer.from(ports[index]!.subarray(offset, Math.min(offset + length, UART_REGISTERS)));
    },
    regionWrite(index, offset, data) {
      data.copy(ports[index]!, offset, 0, Math.min(data.length, UART_REGISTERS - offset));
    },
    stopCopyLength: () => BigInt(total),
    openSaving(stream: OutgoingStream, phase) {
      stream.append(bytesSegment(header()), { initial: phase === 'pre-copy' });
      if (phase === 'stop-copy') stream.append(bytesSegment(portsSnapshot()));
      return {
        enterStopCopy: () => stream.append(bytesSegment(portsSnapshot())),
        onPrecopyQuery: () => false,
      };
    },
    openResuming,
    digest: () => digestOf('mtty', header(), portsSnapshot()),
  };
}
