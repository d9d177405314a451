import { aligned_u64, bit, enumeration, feature, flags, ioctl, byPointer, s32, struct, u32 } from '../dsl/index.js';
import { MigrationDataFd, VFIO_BASE } from './base.js';

/**
 * The migration states of a device. Values are ABI; ERROR can be observed but never requested.
 * (The count of states, VFIO_DEVICE_STATE_NR, exists as an enumerator since 6.8.)
 */
export const vfio_device_mig_state = enumeration(
  'vfio_device_mig_state',
  {
    /** A transition failed and left the device unusable until VFIO_DEVICE_RESET. */
    ERROR: 0,
    /** Not running: no DMA, no interrupts, no internal state change; config space still answers. */
    STOP: 1,
    /** Fully operational; the state a device is in after it is opened. */
    RUNNING: 2,
    /** Stopped, streaming its complete state out through the saving data fd. */
    STOP_COPY: 3,
    /** Stopped, taking a state stream in through the resuming data fd. */
    RESUMING: 4,
    /** Running but starting no new peer-to-peer DMA, so several devices can be quiesced together. */
    RUNNING_P2P: 5,
    /** Running while streaming an early part of its state (pre-copy). */
    PRE_COPY: { value: 6, since: '6.2' },
    /** Pre-copy with new peer-to-peer DMA held back. */
    PRE_COPY_P2P: { value: 7, since: '6.2' },
    NR: { value: 8, since: '6.8' },
  },
  { prefix: 'VFIO_DEVICE_STATE_', since: '5.18' },
);

/** Capability flags a migratable device reports through FEATURE MIGRATION. */
export const vfio_migration_flags = flags(
  'vfio_migration_flags',
  {
    /** The device can stop and stream its state (mandatory for every migratable device). */
    STOP_COPY: bit(0),
    /** The device has the *_P2P states for quiescing peer-to-peer DMA. */
    P2P: bit(1),
    /** The device can stream state while running (PRE_COPY states and the precopy-info ioctl). */
    PRE_COPY: bit(2, { since: '6.2' }),
  },
  { prefix: 'VFIO_MIGRATION_', since: '5.18' },
);

/** Payload of FEATURE MIGRATION: the device's migration capability flags. */
export const vfio_device_feature_migration = struct(
  'vfio_device_feature_migration',
  { flags: aligned_u64.flagsOf(vfio_migration_flags).out() },
  { since: '5.18', expect: { size: 8, align: 8 } },
);

/** Payload of FEATURE MIG_DEVICE_STATE: the state to go to (SET) or the current one (GET), and a data fd. */
export const vfio_device_feature_mig_state = struct(
  'vfio_device_feature_mig_state',
  {
    device_state: u32.enumOf(vfio_device_mig_state),
    /** Out: the new data fd when the transition opened a session, −1 otherwise. */
    data_fd: s32.fd(),
  },
  { since: '5.18', expect: { size: 8, align: 4 } },
);

/** Bits of `vfio_precopy_info.flags`; meaningful only after the MIG_PRECOPY_INFOv2 opt-in. */
export const vfio_precopy_info_flags = flags(
  'vfio_precopy_info_flags',
  {
    /** Fresh initial data is on the stream: initial_bytes restarted, dirty_bytes reset to 0. */
    REINIT: bit(0),
  },
  { prefix: 'VFIO_PRECOPY_INFO_', since: '7.1' },
);

/** Estimates of the data still to be read from the saving stream, while pre-copying. */
export const vfio_precopy_info = struct(
  'vfio_precopy_info',
  {
    argsz: u32.argsz(),
    /** Output, and only defined after the v2 opt-in; older kernels echo the input back. */
    flags: u32.flagsOf(vfio_precopy_info_flags).out(),
    /** Bytes of the initial image not read yet; starts non-zero and only shrinks (unless REINIT). */
    initial_bytes: aligned_u64.out(),
    /** Bytes of state that changed since it was first offered; may grow and shrink. */
    dirty_bytes: aligned_u64.out(),
  },
  { since: '6.2', minsz: 'dirty_bytes', expect: { size: 24, align: 8 } },
);

/** Payload of FEATURE MIG_DATA_SIZE: the driver's estimate of what STOP_COPY would stream. */
export const vfio_device_feature_mig_data_size = struct(
  'vfio_device_feature_mig_data_size',
  { stop_copy_length: aligned_u64.out() },
  { since: '6.2', expect: { size: 8, align: 8 } },
);

/** Read the device's migration capability flags. */
export const MIGRATION = feature(1, 'MIGRATION', {
  ops: ['GET'],
  payload: vfio_device_feature_migration,
  minsz: 8,
  handler: 'core',
  needs: 'migration',
  since: '5.18',
});

/** Read the current migration state, or move the device to a new one (possibly opening a data fd). */
export const MIG_DEVICE_STATE = feature(2, 'MIG_DEVICE_STATE', {
  ops: ['GET', 'SET'],
  payload: vfio_device_feature_mig_state,
  minsz: 8,
  handler: 'core',
  needs: 'migration',
  since: '5.18',
});

/** Ask how many bytes STOP_COPY would produce now; valid in every state. */
export const MIG_DATA_SIZE = feature(9, 'MIG_DATA_SIZE', {
  ops: ['GET'],
  payload: vfio_device_feature_mig_data_size,
  minsz: 8,
  handler: 'core',
  needs: 'migration',
  since: '6.2',
});

/**
 * Opt in to the v2 precopy-info contract (kernel zeroes `flags`, may report REINIT). Only for devices
 * with PRE_COPY. The opt-in is kept by the device across data sessions and cleared at the device's last
 * close (vfio_df_device_last_close in drivers/vfio/vfio_main.c, 7.1; seen on real 7.3.4 with mtty), so
 * every new open of the device must opt in again.
 */
export const MIG_PRECOPY_INFOv2 = feature(12, 'MIG_PRECOPY_INFOv2', {
  ops: ['SET'],
  minsz: 0,
  handler: 'core',
  needs: 'pre_copy',
  missing: 'EINVAL',
  since: '7.1',
});

/** Ask the saving data fd how much initial and dirty data is left; only while pre-copying. */
export const VFIO_MIG_GET_PRECOPY_INFO = ioctl('VFIO_MIG_GET_PRECOPY_INFO', {
  nr: VFIO_BASE.value + 21,
  on: MigrationDataFd,
  arg: byPointer(vfio_precopy_info),
  since: '6.2',
});
