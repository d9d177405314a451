/**
 * VFIO_DEVICE_FEATURE: the generated `checkFeatureCall` makes the kernel's header checks in the kernel's
 * order (rule ids feature.*); what passes reaches one small handler per feature.
 */
import {
  decodeVfioDeviceFeatureDmaLoggingControl,
  decodeVfioDeviceFeatureDmaLoggingRange,
  decodeVfioDeviceFeatureDmaLoggingReport,
  decodeVfioDeviceFeatureMigState,
  encodeVfioDeviceFeatureMigDataSize,
  encodeVfioDeviceFeatureMigState,
  encodeVfioDeviceFeatureMigration,
  VfioDeviceFeatureDmaLoggingRangeLayout,
} from '../../generated/codecs.js';
import { type FeatureInfo } from '../../generated/constants.js';
import { stateValues } from '../../generated/fsm.js';
import { checkFeatureCall, type FeatureDevice } from '../../generated/validators.js';
import { Errno, errnoNumber } from '../sys/errno.js';
import type { DeviceModel } from './device-model.js';
import { setMigrationState } from './migration.js';
import { CallerFault, fail, value, type Answer, type HandlerEnvironment, type IoctlCall } from './seccomp/handler.js';

const PAYLOAD = 8n;

/** Driver-handled features our devices offer (vfio-pci-core's low-power entry/exit); the rest are ENOTTY. */
const DRIVER_FEATURES = new Set<number>([3, 4, 5]);

function featureDevice(device: DeviceModel): FeatureDevice {
  return {
    supports: (f: FeatureInfo) => f.handler === 'core' || DRIVER_FEATURES.has(f.index),
    has: (needs) => {
      switch (needs) {
        case 'migration':
          return device.migrates;
        case 'dma_logging':
          return device.personality.dmaLogging !== 'none';
        case 'pre_copy':
          return (device.personality.migrationFlags & 4) !== 0;
        default:
          return true;
      }
    },
  };
}

const view = (b: Buffer) => new DataView(b.buffer, b.byteOffset, b.byteLength);

export function deviceFeature(env: HandlerEnvironment, call: IoctlCall, device: DeviceModel): Answer {
  let argsz = 0;
  let flags = 0;
  let headerReadable = true;
  try {
    const header = call.readMem(call.arg, 8);
    argsz = header.readUInt32LE(0);
    flags = header.readUInt32LE(4);
  } catch (e) {
    if (!(e instanceof CallerFault)) throw e;
    headerReadable = false;
  }
  const check = checkFeatureCall({ argsz, flags, headerReadable }, featureDevice(device));
  if (!check.ok) return fail(errnoNumber(check.errno));
  if (check.probe) return value(0);
  const name = check.feature.short;
  const at = call.arg + PAYLOAD;
  const injected = device.faults.takeFeatureErrno(name);
  if (injected) return fail(errnoNumber(injected));
  switch (name) {
    case 'MIGRATION': {
      const out = Buffer.alloc(8);
      encodeVfioDeviceFeatureMigration({ flags: BigInt(device.personality.migrationFlags) }, view(out));
      call.writeMem(at, out);
      return value(0);
    }
    case 'MIG_DEVICE_STATE': {
      const out = Buffer.alloc(8);
      if (check.op === 'GET') {
        encodeVfioDeviceFeatureMigState({ device_state: stateValues[device.state], data_fd: -1 }, view(out));
        call.writeMem(at, out);
        return value(0);
      }
      const requested = decodeVfioDeviceFeatureMigState(view(call.readMem(at, 8))).device_state;
      const result = setMigrationState(env, call, device, requested);
      // Copied back whatever happened: the requested state and the new fd (or −1).
      encodeVfioDeviceFeatureMigState({ device_state: requested, data_fd: result.dataFd }, view(out));
      call.writeMem(at, out);
      return result.errno ? fail(errnoNumber(result.errno)) : value(0);
    }
    case 'MIG_DATA_SIZE': {
      const out = Buffer.alloc(8);
      encodeVfioDeviceFeatureMigDataSize({ stop_copy_length: device.personality.stopCopyLength() }, view(out));
      call.writeMem(at, out);
      return value(0);
    }
    case 'MIG_PRECOPY_INFOv2':
      device.precopyV2 = true;
      return value(0);
    case 'DMA_LOGGING_START':
      return loggingStart(call, device, at);
    case 'DMA_LOGGING_STOP':
      device.dmaLog.stop();
      return value(0);
    case 'DMA_LOGGING_REPORT':
      return loggingReport(call, device, at);
    case 'LOW_POWER_ENTRY':
    case 'LOW_POWER_ENTRY_WITH_WAKEUP':
    case 'LOW_POWER_EXIT':
      return value(0);
    default:
      return fail(Errno.ENOTTY);
  }
}

function loggingStart(call: IoctlCall, device: DeviceModel, at: bigint): Answer {
  const control = decodeVfioDeviceFeatureDmaLoggingControl(view(call.readMem(at, 24)));
  // Count checks come before reading the ranges, as in the core.
  if (control.num_ranges === 0) return fail(Errno.EINVAL);
  if (control.num_ranges > 256) return fail(Errno.E2BIG);
  const size = VfioDeviceFeatureDmaLoggingRangeLayout.size;
  const raw = call.readMem(control.ranges, control.num_ranges * size);
  const ranges = Array.from({ length: control.num_ranges }, (_, i) =>
    decodeVfioDeviceFeatureDmaLoggingRange(view(raw), i * size),
  );
  const chosen = device.dmaLog.start(control.page_size, ranges);
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(chosen);
  call.writeMem(at, out); // page_size is in/out
  return value(0);
}

function loggingReport(call: IoctlCall, device: DeviceModel, at: bigint): Answer {
  const report = decodeVfioDeviceFeatureDmaLoggingReport(view(call.readMem(at, 32)));
  const bits = device.dmaLog.report(report.iova, report.length, report.page_size);
  // Only set bits, word by word, so a huge range never needs a huge buffer.
  const words = new Map<bigint, bigint>();
  for (const bit of bits) words.set(bit / 64n, (words.get(bit / 64n) ?? 0n) | (1n << (bit % 64n)));
  for (const [word, mask] of words) {
    const addr = report.bitmap + word * 8n;
    const current = call.readMem(addr, 8);
    current.writeBigUInt64LE(current.readBigUInt64LE(0) | mask);
    call.writeMem(addr, current);
  }
  if (device.state === 'RUNNING' || device.state === 'PRE_COPY') device.dmaLog.deviceWrites();
  return value(0);
}
