/**
 * An open VFIO device: the device fd plus whatever had to be opened to get it (iommufd, or container and
 * group), closed together in reverse order. Knows its migration capabilities and the raw MIG_DEVICE_STATE
 * GET/SET; the guarded state machine lives in migration/session.ts.
 */
import {
  decodeVfioDeviceFeatureMigDataSize,
  decodeVfioDeviceFeatureMigState,
  decodeVfioDeviceFeatureMigration,
  encodeVfioDeviceFeatureMigState,
  type VfioDeviceInfo,
} from '../../generated/codecs.js';
import {
  FEATURES,
  STATE_NAMES,
  VfioDeviceMigState,
  type FeatureName,
  type StateName,
} from '../../generated/constants.js';
import { capsKeyOf, checkCapabilities, type Problem } from '../../generated/validators.js';
import type { EmulatedDevice, EmulatorHandle } from '../emulator/api.js';
import { VfioError, type FdKind } from '../errors.js';
import { close, Errno, errnoName } from '../sys/index.js';
import { releaseEmulated } from './emulated.js';
import { featureLabel, FeatureCaller } from './feature-call.js';
import { vfio } from './ioctls.js';

export interface OpenedFd {
  fd: number;
  kind: FdKind;
  what: string;
}

export interface MigrationCapabilities {
  /** VFIO_DEVICE_FEATURE_MIGRATION flags. */
  flags: number;
  /** e.g. `STOP_COPY+P2P+PRE_COPY`. */
  capsKey: string;
  stopCopy: boolean;
  p2p: boolean;
  preCopy: boolean;
  /** A PRE_COPY device must answer VFIO_MIG_GET_PRECOPY_INFO while pre-copying (rule precopy.mandatory). */
  expectsPrecopyInfo: boolean;
  /** Problems the generated capability rules find in these flags. */
  problems: Problem[];
}

export interface FeatureProbe {
  name: FeatureName;
  short: string;
  present: boolean;
  /** errno of the probe when absent (ENOTTY: unknown; EINVAL: known but not usable on this device). */
  errno: string | null;
}

export interface DeviceIdentity {
  /** How the device was named when opened: a path, a group form, or `emulated:…`. */
  spec: string;
  access: 'cdev' | 'group';
  /** `emulated:mlx5` for emulated devices, else the device name (group form) or cdev path. */
  identity: string;
}

export class Device {
  private readonly feature: FeatureCaller;
  private readonly getBuf = Buffer.alloc(16);
  private closed = false;
  private cachedCaps: MigrationCapabilities | null | undefined;

  /**
   * @param fds every fd opened to reach the device, in open order; the device fd is the last one.
   */
  constructor(
    readonly id: DeviceIdentity,
    private readonly fds: OpenedFd[],
    readonly emulator: { handle: EmulatorHandle; device: EmulatedDevice } | null = null,
  ) {
    this.feature = new FeatureCaller(() => this.fd);
  }

  /** The device fd. */
  get fd(): number {
    if (this.closed) throw new VfioError('the device is closed', { kind: 'usage', op: 'use device', fdKind: 'device' });
    return this.fds[this.fds.length - 1]!.fd;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** VFIO_DEVICE_GET_INFO. */
  info(): VfioDeviceInfo {
    const r = vfio.VFIO_DEVICE_GET_INFO_value(this.fd, {
      argsz: 24,
      flags: 0,
      num_regions: 0,
      num_irqs: 0,
      cap_offset: 0,
      pad: 0,
    });
    if (!r.ok) throw VfioError.fromErrno('VFIO_DEVICE_GET_INFO', 'device', r.errno);
    return r.value;
  }

  /** PROBE every feature the spec knows; ENOTTY means the device does not have it. */
  features(): FeatureProbe[] {
    return (Object.keys(FEATURES) as FeatureName[])
      .sort((a, b) => FEATURES[a].index - FEATURES[b].index)
      .map((name) => {
        const ops = FEATURES[name].ops as readonly string[];
        const errno = this.feature.call(name, ops.includes('GET') ? 'PROBE_GET' : 'PROBE_SET');
        return { name, short: FEATURES[name].short, present: errno === 0, errno: errno ? errnoName(errno) : null };
      });
  }

  /** The migration capabilities, or null for a device without migration support (ENOTTY). */
  migration(): MigrationCapabilities | null {
    if (this.cachedCaps !== undefined) return this.cachedCaps;
    const errno = this.feature.call('VFIO_DEVICE_FEATURE_MIGRATION', 'GET');
    if (errno === Errno.ENOTTY) return (this.cachedCaps = null);
    if (errno) throw VfioError.fromErrno(featureLabel('VFIO_DEVICE_FEATURE_MIGRATION', 'GET'), 'device', errno);
    const flags = Number(decodeVfioDeviceFeatureMigration(this.feature.payload, 0).flags);
    const caps = capsKeyOf(flags);
    const problems = checkCapabilities(flags);
    return (this.cachedCaps = {
      flags,
      capsKey: caps.ok ? caps.key : `0x${flags.toString(16)}`,
      stopCopy: (flags & 1) !== 0,
      p2p: (flags & 2) !== 0,
      preCopy: (flags & 4) !== 0,
      expectsPrecopyInfo: (flags & 4) !== 0,
      problems,
    });
  }

  /** Capabilities, or a clear error when the device cannot migrate. */
  requireMigration(): MigrationCapabilities & { capsKey: string } {
    const caps = this.migration();
    if (!caps)
      throw new VfioError(`${this.id.spec} does not support migration (VFIO_DEVICE_FEATURE_MIGRATION: ENOTTY)`, {
        kind: 'no-migration',
        op: featureLabel('VFIO_DEVICE_FEATURE_MIGRATION', 'GET'),
        fdKind: 'device',
        errno: Errno.ENOTTY,
      });
    const key = capsKeyOf(caps.flags);
    if (!key.ok)
      throw new VfioError(`${this.id.spec}: ${key.message}`, {
        kind: 'no-migration',
        op: 'VFIO_DEVICE_FEATURE GET MIGRATION',
        fdKind: 'device',
        rule: key.rule,
      });
    return caps;
  }

  /** MIG_DEVICE_STATE GET; returns the state or the errno. */
  getStateRaw(): { ok: true; state: StateName } | { ok: false; errno: number } {
    const errno = this.feature.call('VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE', 'GET', (p) =>
      encodeVfioDeviceFeatureMigState({ device_state: 0, data_fd: -1 }, p, 0),
    );
    if (errno) return { ok: false, errno };
    const v = decodeVfioDeviceFeatureMigState(this.feature.payload, 0);
    return { ok: true, state: STATE_NAMES[v.device_state] ?? (`#${v.device_state}` as StateName) };
  }

  /** MIG_DEVICE_STATE SET; on success `dataFd` is the new data fd or -1. */
  setStateRaw(state: StateName): { ok: true; dataFd: number } | { ok: false; errno: number } {
    const errno = this.feature.call('VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE', 'SET', (p) =>
      encodeVfioDeviceFeatureMigState({ device_state: VfioDeviceMigState[state], data_fd: -1 }, p, 0),
    );
    if (errno) return { ok: false, errno };
    return { ok: true, dataFd: decodeVfioDeviceFeatureMigState(this.feature.payload, 0).data_fd };
  }

  /** The current migration state (GET), throwing on failure. */
  state(): StateName {
    const r = this.getStateRaw();
    if (!r.ok)
      throw VfioError.fromErrno(featureLabel('VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE', 'GET'), 'device', r.errno);
    return r.state;
  }

  /**
   * MIG_DATA_SIZE GET: the driver's estimate of the STOP_COPY volume; null if the device does not offer it
   * (ENOTTY, or EINVAL from kernels whose core sends unknown features to a driver without a feature op).
   * Other errnos throw; MigrationSession.dataSize() never does.
   */
  dataSize(): bigint | null {
    const errno = this.feature.call('VFIO_DEVICE_FEATURE_MIG_DATA_SIZE', 'GET');
    if (errno === Errno.ENOTTY || errno === Errno.EINVAL) return null;
    if (errno) throw VfioError.fromErrno(featureLabel('VFIO_DEVICE_FEATURE_MIG_DATA_SIZE', 'GET'), 'device', errno);
    return decodeVfioDeviceFeatureMigDataSize(this.feature.payload, 0).stop_copy_length;
  }

  /** Issue a feature call with a payload; returns 0 or the errno (for session-level features). */
  featureCall(
    name: FeatureName,
    op: 'GET' | 'SET',
    fill?: (p: DataView) => void,
    payloadSize?: number,
  ): { errno: number; payload: DataView } {
    const errno = this.feature.call(name, op, fill, payloadSize);
    return { errno, payload: this.feature.payload };
  }

  /** VFIO_DEVICE_RESET: the device returns to RUNNING and any migration session dies. */
  reset(): void {
    const r = vfio.VFIO_DEVICE_RESET(this.fd);
    if (!r.ok) throw VfioError.fromErrno('VFIO_DEVICE_RESET', 'device', r.errno);
  }

  /** Close every fd this device opened: the device fd first, then group/container or iommufd. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const f of [...this.fds].reverse()) close(f.fd);
    this.fds.length = 0;
    if (this.emulator) await releaseEmulated(this.emulator.handle, this.emulator.device.index);
  }

  /** The emulator's view of this device (only for emulated devices). */
  async snapshot() {
    if (!this.emulator) return null;
    return this.emulator.handle.snapshot(this.emulator.device.index);
  }
}
