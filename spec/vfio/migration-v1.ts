/**
 * Migration protocol v1 (5.8–5.17): a device region (type VFIO_REGION_TYPE_MIGRATION) whose first bytes are
 * `struct vfio_device_migration_info`, driven by writing state bits to `device_state`. It came with the VFIO
 * pull for v5.8-rc1 ("vfio: UAPI for migration interface for device state"). In 5.18 migration v2 (the
 * VFIO_DEVICE_FEATURE state machine, commit 115dcec65f61 "vfio: Define device migration protocol v2") took
 * its place: the v1 state macros were renamed to VFIO_DEVICE_STATE_V1_* so that the v2 enumerators could use
 * VFIO_DEVICE_STATE_STOP/RUNNING/RESUMING with other values, and the region type and subtype gained
 * `_DEPRECATED`. The header still carries the renamed v1 items (checked up to 7.3); no kernel driver serves
 * v1 any more. Kept here so header-check can read 5.8–5.17 headers exactly and tell both meanings of the
 * reused names apart.
 */
import { aligned_u64, constant, enumeration, struct, u32, u64, was } from '../dsl/index.js';

/**
 * Bits of `vfio_device_migration_info.device_state` (v1). Before 5.18 each was named without `V1_`
 * (VFIO_DEVICE_STATE_STOP = 0, RUNNING = 1, SAVING = 2, RESUMING = 4) — three of those names are v2
 * enumerators with other values since 5.18.
 */
export const vfio_device_state_v1 = enumeration(
  'vfio_device_state_v1',
  {
    /** No bit set: the device is stopped. */
    STOP: { value: 0, formerly: [{ name: 'VFIO_DEVICE_STATE_STOP', until: '5.18' }] },
    RUNNING: { value: 1, formerly: [{ name: 'VFIO_DEVICE_STATE_RUNNING', until: '5.18' }] },
    /** The device streams its state out through the migration region. */
    SAVING: { value: 2, formerly: [{ name: 'VFIO_DEVICE_STATE_SAVING', until: '5.18' }] },
    /** The device takes a state stream in through the migration region. */
    RESUMING: { value: 4, formerly: [{ name: 'VFIO_DEVICE_STATE_RESUMING', until: '5.18' }] },
  },
  { prefix: 'VFIO_DEVICE_STATE_V1_', since: '5.8' },
);

/** The three v1 state bits together (RUNNING | SAVING | RESUMING); the same name and value since 5.8. */
export const VFIO_DEVICE_STATE_MASK = constant('VFIO_DEVICE_STATE_MASK', 7, { since: '5.8' });

/**
 * The head of the v1 migration region. `pending_bytes`, `data_offset` and `data_size` were plain `__u64`
 * until 6.7 (2f8d25fa8aed), so before 6.7 the struct is 4-aligned on i386 (32 bytes on both ABIs).
 */
export const vfio_device_migration_info = struct(
  'vfio_device_migration_info',
  {
    /** v1 state bits (vfio_device_state_v1); SAVING|RESUMING together means error. */
    device_state: u32,
    reserved: u32.reserved(),
    /** Bytes the device still has to save. */
    pending_bytes: was(aligned_u64.out(), { until: '6.7', type: u64 }),
    /** Where in the region the next chunk of data sits. */
    data_offset: was(aligned_u64.out(), { until: '6.7', type: u64 }),
    /** Size of that chunk. */
    data_size: was(aligned_u64, { until: '6.7', type: u64 }),
  },
  { since: '5.8', expect: { size: 32, align: 8 } },
);
