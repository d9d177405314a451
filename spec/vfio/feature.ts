import {
  aligned_u64,
  byPointer,
  enumeration,
  feature,
  flags,
  flex,
  ioctl,
  s32,
  struct,
  u32,
  u8,
} from '../dsl/index.js';
import { Device, DmaBufFd, VFIO_BASE } from './base.js';
import { vfio_device_feature_dma_buf } from './dma-buf.js';

/**
 * Bits of `vfio_device_feature.flags`. The low 16 bits carry the feature index; above them GET and
 * SET pick the access and PROBE asks only whether that access is supported.
 */
export const vfio_device_feature_flags = flags(
  'vfio_device_feature_flags',
  {
    /** Read the feature's payload from the device. */
    GET: 1 << 16,
    /** Write the feature's payload to the device. */
    SET: 1 << 17,
    /** Only ask whether the feature (with the GET/SET bits given) is supported; no payload moves. */
    PROBE: 1 << 18,
  },
  { prefix: 'VFIO_DEVICE_FEATURE_', since: '5.7', masks: { MASK: 0xffff } },
);

/**
 * The multiplexed feature call: an 8-byte header whose `argsz` counts the header plus the payload
 * that follows it in `data`.
 */
export const vfio_device_feature = struct(
  'vfio_device_feature',
  {
    argsz: u32.argsz(),
    flags: u32.flagsOf(vfio_device_feature_flags),
    data: flex(u8),
  },
  { since: '5.7', minsz: 'flags', expect: { size: 8, align: 4 } },
);

/** Get, set or probe one device feature. The meaning of the payload depends on the index in `flags`. */
export const VFIO_DEVICE_FEATURE = ioctl('VFIO_DEVICE_FEATURE', {
  nr: VFIO_BASE.value + 17,
  on: Device,
  arg: byPointer(vfio_device_feature),
  since: '5.7',
});

/** Payload of LOW_POWER_ENTRY_WITH_WAKEUP: an eventfd signalled when the device wants to wake. */
export const vfio_device_low_power_entry_with_wakeup = struct(
  'vfio_device_low_power_entry_with_wakeup',
  { wakeup_eventfd: s32.fd(), reserved: u32.reserved() },
  { since: '6.1', expect: { size: 8, align: 4 } },
);

/** Values of `vfio_device_feature_bus_master.op`. */
export const vfio_bus_master_op = enumeration(
  'vfio_bus_master_op',
  { CLEAR_MASTER: 0, SET_MASTER: 1 },
  { prefix: 'VFIO_DEVICE_FEATURE_', since: '6.7' },
);

/** Payload of BUS_MASTER: turn a CDX device's bus mastering off (0) or on (1). */
export const vfio_device_feature_bus_master = struct(
  'vfio_device_feature_bus_master',
  { op: u32.enumOf(vfio_bus_master_op) },
  { since: '6.7', expect: { size: 4, align: 4 } },
);

/** Share the VF token (a 16-byte UUID) between a PF driver and the users of its VFs. */
export const PCI_VF_TOKEN = feature(0, 'PCI_VF_TOKEN', {
  ops: ['SET'],
  minsz: 16,
  handler: 'driver',
  needs: 'driver_op',
  since: '5.7',
});

/** Put the device into a low-power state until LOW_POWER_EXIT or the next access. */
export const LOW_POWER_ENTRY = feature(3, 'LOW_POWER_ENTRY', {
  ops: ['SET'],
  minsz: 0,
  handler: 'driver',
  needs: 'driver_op',
  since: '6.1',
});

/** Like LOW_POWER_ENTRY, with an eventfd that fires when the device needs to wake up. */
export const LOW_POWER_ENTRY_WITH_WAKEUP = feature(4, 'LOW_POWER_ENTRY_WITH_WAKEUP', {
  ops: ['SET'],
  payload: vfio_device_low_power_entry_with_wakeup,
  minsz: 8,
  handler: 'driver',
  needs: 'driver_op',
  since: '6.1',
});

/** Leave the low-power state. */
export const LOW_POWER_EXIT = feature(5, 'LOW_POWER_EXIT', {
  ops: ['SET'],
  minsz: 0,
  handler: 'driver',
  needs: 'driver_op',
  since: '6.1',
});

/** Control bus mastering of a CDX device. */
export const BUS_MASTER = feature(10, 'BUS_MASTER', {
  ops: ['SET'],
  payload: vfio_device_feature_bus_master,
  minsz: 4,
  handler: 'driver',
  needs: 'driver_op',
  since: '6.7',
});

/** Export ranges of a region as a dma-buf; the new fd is the ioctl's return value. */
export const DMA_BUF = feature(11, 'DMA_BUF', {
  ops: ['GET'],
  payload: vfio_device_feature_dma_buf,
  minsz: 16,
  handler: 'driver',
  needs: 'driver_op',
  returnsFd: DmaBufFd,
  since: '6.19',
});

/** Payload of ZPCI_ERROR: 8 bytes through which the kernel hands over the pending PCI error record. */
export const vfio_device_feature_zpci_err = struct(
  'vfio_device_feature_zpci_err',
  {
    /**
     * The error record's buffer: an opaque area of fixed length (the length is reported by the s390
     * ZPCI_BASE device-info capability) that the kernel fills with the platform's error data.
     */
    data: aligned_u64,
  },
  { since: '7.3', expect: { size: 8, align: 8 } },
);

/**
 * s390 only: read the next pending PCI error of a vfio-pci device (on s390, firmware takes part in PCI
 * error recovery and reports errors through its own channel). GET copies the platform's error event
 * record (the architected CCDF error event) out; ENOMSG means nothing is pending, so a caller reads until
 * ENOMSG. In 7.3: absent from Debian's 7.2.13 headers, present in 7.3.4. From "vfio-pci/zdev: Add a device
 * feature for error information" (Farhan Ali, series 20260413210608.2912-1-alifm@linux.ibm.com; its v13
 * review moved from a versioned struct to the architected record whose length a capability reports).
 */
export const ZPCI_ERROR = feature(13, 'ZPCI_ERROR', {
  ops: ['GET'],
  payload: vfio_device_feature_zpci_err,
  minsz: 8,
  handler: 'driver',
  needs: 'driver_op',
  since: '7.3',
});
