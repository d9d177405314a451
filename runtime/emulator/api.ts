/**
 * The emulated VFIO device's public contract, shared by the emulator (which implements it in
 * runtime/emulator/) and everything that uses it: the runtime's device strings (`emulated:mlx5+quirk`),
 * the CLI's `emulate` command, tests, examples and the conformance suite.
 */

/**
 * Driver personalities, after real drivers (the kernel's mtty sample, hisi_acc_vfio_pci, mlx5_vfio_pci); `nomig` is
 * a device without migration (QEMU's edu on vfio-pci, as route 6.1 of `npm run test:kernel` finds it).
 */
export type Personality = 'mtty' | 'hisi-acc' | 'mlx5' | 'nomig';

/** Switches that each break one rule of the uAPI, for testing the runtime and the conformance suite. */
export type QuirkName =
  | 'enomsg-in-stop-copy'
  | 'precopy-info-in-stop-copy'
  | 'dirty-bytes-always-zero'
  | 'no-precopy-info'
  | 'wrong-argsz-writeback'
  | 'interior-fd'
  | 'transition-eio'
  | 'short-reads'
  | 'resume-rejects';

/** A fault injected into upcoming calls of one device. */
export type Fault =
  | { kind: 'EINTR' | 'EAGAIN'; on: 'read' | 'write'; times?: number }
  | { kind: 'EIO'; arc: { from: string; to: string }; times?: number }
  | { kind: 'close-data-fd-early'; afterBytes: number }
  /** The next calls of an optional feature fail with this errno (how older kernels and drivers say "not here"). */
  | {
      kind: 'feature-errno';
      feature: 'MIG_DATA_SIZE' | 'MIG_PRECOPY_INFOv2';
      errno: 'EINVAL' | 'ENOTTY' | 'EIO';
      times?: number;
    };

export interface EmulatedDeviceOptions {
  personality: Personality;
  quirks?: QuirkName[];
  /** Only for quirks that name an arc (transition-eio): which arc fails, e.g. `PRE_COPY_P2P->STOP_COPY`. */
  quirkArc?: string;
  /** mlx5: total device state in bytes (default a few MiB; up to several GiB), generated deterministically. */
  stateSize?: number;
  /** Seed of the generated state content; source and destination verify against it. */
  seed?: number;
  faults?: Fault[];
}

export interface EmulatedDevice {
  /** Index in the order given to startEmulator. */
  index: number;
  personality: Personality;
  quirks: QuirkName[];
  /** Placeholder cdev node: open it, BIND_IOMMUFD with the iommufd, IOAS_ALLOC, ATTACH. */
  cdevPath: string;
  /** Placeholder group node for the legacy path, and the device name for GROUP_GET_DEVICE_FD. */
  groupPath: string;
  groupDeviceName: string;
}

export interface DeviceSnapshot {
  state: string;
  /** A digest of the device's internal state; equal digests mean equal device state. */
  digest: string;
  /** Data fds the device model still considers open. */
  openDataFds: number;
  /**
   * The states asked for by SET MIG_DEVICE_STATE, oldest first (the last 64), whether or not they succeeded;
   * `seq` counts requests across all devices of the emulator, so logs of several devices merge in order.
   */
  requests: { seq: number; state: string }[];
}

export interface EmulatorHandle {
  /** Placeholder container node (stands for /dev/vfio/vfio). */
  containerPath: string;
  /** Placeholder iommufd node (stands for /dev/iommu). */
  iommufdPath: string;
  devices: EmulatedDevice[];
  /** Inject faults into a device's upcoming calls. */
  inject(device: number, fault: Fault): Promise<void>;
  /** What the model holds now, for verification (destination equals source) and leak checks. */
  snapshot(device: number): Promise<DeviceSnapshot>;
  /** Detach the emulator; placeholder paths stop working. */
  stop(): Promise<void>;
}

export const PERSONALITIES: readonly Personality[] = ['mtty', 'hisi-acc', 'mlx5', 'nomig'];
/** The personalities that support migration (all but nomig). */
export const MIGRATING_PERSONALITIES: readonly Personality[] = ['mtty', 'hisi-acc', 'mlx5'];
export const QUIRKS: readonly QuirkName[] = [
  'enomsg-in-stop-copy',
  'precopy-info-in-stop-copy',
  'dirty-bytes-always-zero',
  'no-precopy-info',
  'wrong-argsz-writeback',
  'interior-fd',
  'transition-eio',
  'short-reads',
  'resume-rejects',
];

/**
 * Parse a device string of the form `emulated:PERSONALITY[+QUIRK…]` (e.g. `emulated:mtty+enomsg-in-stop-copy`).
 * Returns null for strings that are not emulated devices; throws a clear error for unknown names.
 */
export function parseEmulatedSpec(spec: string): EmulatedDeviceOptions | null {
  if (!spec.startsWith('emulated:')) return null;
  const [personality, ...quirks] = spec.slice('emulated:'.length).split('+');
  if (!PERSONALITIES.includes(personality as Personality))
    throw new Error(`unknown emulated personality "${personality}"; choose one of ${PERSONALITIES.join(', ')}`);
  for (const q of quirks)
    if (!QUIRKS.includes(q as QuirkName)) throw new Error(`unknown quirk "${q}"; choose from ${QUIRKS.join(', ')}`);
  return { personality: personality as Personality, quirks: quirks as QuirkName[] };
}
