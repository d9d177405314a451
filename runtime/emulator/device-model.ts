/**
 * One emulated device: its personality, quirks and faults, its migration state and data session, DMA
 * logging and the v2 precopy opt-in. The ioctl entry points live in features.ts (VFIO_DEVICE_FEATURE),
 * device-ioctls.ts (the device fd) and data-fd.ts (the data fd); this file holds the state they share.
 */
import type { EmulatedDeviceOptions } from './api.js';
import { capsKeyOf } from '../../generated/validators.js';
import type { StateName } from '../../generated/constants.js';
import type { DataSession } from './data-session.js';
import { DmaLog } from './dma-logging.js';
import { FaultQueue } from './faults.js';
import { createHisiAcc } from './personalities/hisi-acc.js';
import { createMlx5 } from './personalities/mlx5.js';
import { createMtty } from './personalities/mtty.js';
import { createNoMigration } from './personalities/nomig.js';
import type { PersonalityModel } from './personalities/personality.js';
import { groupDeviceName } from './nodes.js';
import { liveIdentities } from './placeholder-identity.js';
import { Quirks } from './quirks.js';

export const DEFAULT_MLX5_STATE_BYTES = 4 << 20;

function createPersonality(options: EmulatedDeviceOptions, seed: number): PersonalityModel {
  switch (options.personality) {
    case 'mtty':
      return createMtty(seed);
    case 'hisi-acc':
      return createHisiAcc(seed);
    case 'mlx5':
      return createMlx5(seed, options.stateSize ?? DEFAULT_MLX5_STATE_BYTES);
    case 'nomig':
      return createNoMigration();
  }
}

export class DeviceModel {
  readonly personality: PersonalityModel;
  readonly quirks: Quirks;
  readonly faults = new FaultQueue();
  /** False for a device without migration ops: every migration feature answers ENOTTY. */
  readonly migrates: boolean;
  /** Capability set key of the migration flags ('' without migration). */
  readonly capsKey: string;
  readonly dmaLog: DmaLog;
  state: StateName = 'RUNNING';
  /** The current data session (saving or resuming), if any; ended sessions stay reachable from their fd. */
  session: DataSession | undefined;
  /** Sessions whose fd the caller has not closed yet (for snapshots and leak checks). */
  readonly openSessions = new Set<DataSession>();
  /**
   * Set by SET MIG_PRECOPY_INFOv2: PRECOPY_INFO then owns `flags` and may report REINIT. Kept across data
   * sessions, cleared at the device's last close (see `releaseClosed`).
   */
  precopyV2 = false;
  /**
   * The device's open count as the kernel keeps it (vfio_device.open_count): the open files that opened the
   * device — a legacy device fd (GROUP_GET_DEVICE_FD), a cdev fd once BIND_IOMMUFD succeeded — by their
   * placeholder identity, until no fd holds them (dups included).
   */
  private readonly opens = new Set<number>();
  /** The states SET MIG_DEVICE_STATE asked for, last 64 (for tests of the order a runtime sends them in). */
  readonly requests: { seq: number; state: string }[] = [];
  readonly groupDeviceName: string;

  constructor(
    readonly index: number,
    options: EmulatedDeviceOptions,
    /** The placeholder node every fd of the device links to (the cdev; legacy device fds are opens of it too). */
    readonly nodePath: string,
  ) {
    // Distinct default seeds, so two devices differ until one receives the other's state.
    const seed = options.seed ?? 0x5eed0000 + index * 7919;
    this.personality = createPersonality(options, seed);
    this.migrates = this.personality.migrationFlags !== 0;
    const caps = capsKeyOf(this.personality.migrationFlags);
    if (this.migrates && !caps.ok) throw new Error(`personality ${options.personality}: ${caps.message}`);
    this.capsKey = caps.ok ? caps.key : '';
    const flags = this.personality.migrationFlags;
    const defaultArc =
      flags & 2 && flags & 4 ? 'PRE_COPY_P2P->STOP_COPY' : flags & 4 ? 'PRE_COPY->STOP_COPY' : 'STOP->STOP_COPY';
    this.quirks = new Quirks(options.quirks ?? [], options.quirkArc, defaultArc);
    for (const f of options.faults ?? []) this.faults.add(f);
    this.dmaLog = new DmaLog(this.personality.dmaLogging);
    this.groupDeviceName = groupDeviceName(index);
  }

  /** An open file opened the device: GROUP_GET_DEVICE_FD, or BIND_IOMMUFD on a cdev fd. */
  opened(identity: number): void {
    this.releaseClosed();
    this.opens.add(identity);
  }

  /**
   * Forget the open files no fd holds any more (`closing`: an fd being closed now). When none is left the
   * device had its last close, where the kernel's vfio_df_device_last_close (drivers/vfio/vfio_main.c, 7.1+;
   * seen on real 7.3.4) clears the PRECOPY_INFOv2 opt-in: the next user starts without it. Legacy device fds
   * are closed through the emulator, so this runs at once; a cdev fd closes untrapped (it is the caller's
   * own open of the placeholder), so it is noticed at the next open of the device, before anyone can see
   * the difference.
   */
  releaseClosed(closing?: number): void {
    if (!this.opens.size) return;
    const live = liveIdentities(this.nodePath, closing);
    for (const id of this.opens) if (!live.has(id)) this.opens.delete(id);
    if (!this.opens.size) this.precopyV2 = false;
  }

  /** Ends the current session: its fd answers ENODEV from now on. */
  endSession(): void {
    this.session?.end();
    this.session = undefined;
  }

  /** VFIO_DEVICE_RESET: RUNNING, no session, whatever state the migration left. */
  reset(): void {
    this.endSession();
    this.state = 'RUNNING';
  }

  snapshot() {
    return {
      state: this.state,
      digest: this.personality.digest(),
      openDataFds: this.openSessions.size,
      requests: this.requests.map((r) => ({ ...r })),
    };
  }
}
