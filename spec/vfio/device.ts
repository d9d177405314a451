import {
  addedIn,
  constant,
  enumeration,
  aligned_u64,
  byPointer,
  flags,
  flex,
  ioctl,
  noArg,
  opaque,
  s32,
  struct,
  u16,
  u32,
  u64,
  u8,
  union,
  was,
} from '../dsl/index.js';
import { Device, VFIO_BASE } from './base.js';

const nr = (k: number) => VFIO_BASE.value + k;

/** Header of each entry in an INFO answer's capability chain; offsets count from the answer's start. */
export const vfio_info_cap_header = struct(
  'vfio_info_cap_header',
  {
    id: u16,
    version: u16,
    /** Offset of the next capability, 0 at the end of the chain. */
    next: u32,
  },
  { since: '4.7', expect: { size: 8, align: 4 } },
);

/** Bits of `vfio_device_info.flags`: which bus the device sits on and what it can do. */
export const vfio_device_flags = flags(
  'vfio_device_flags',
  {
    /** VFIO_DEVICE_RESET is supported. */
    RESET: 1,
    PCI: 2,
    PLATFORM: 4,
    AMBA: 8,
    CCW: { value: 16, since: '4.10' },
    AP: { value: 32, since: '5.1' },
    FSL_MC: { value: 64, since: '5.3' },
    /** The answer carries a capability chain at `cap_offset`. */
    CAPS: { value: 128, since: '5.10' },
    CDX: { value: 256, since: '6.5' },
  },
  { prefix: 'VFIO_DEVICE_FLAGS_', since: '3.6' },
);

/** What a device is: its bus, number of regions and interrupts. Grew twice; argsz tells the versions apart. */
export const vfio_device_info = struct(
  'vfio_device_info',
  {
    argsz: u32.argsz(),
    flags: u32.flagsOf(vfio_device_flags).out(),
    num_regions: u32.out(),
    num_irqs: u32.out(),
    /** Offset of the first capability, when the CAPS flag is set. */
    cap_offset: addedIn('5.10', u32.out()),
    pad: addedIn('6.6', u32.reserved()),
  },
  { since: '3.6', minsz: 'num_irqs', expect: { size: 24, align: 4 } },
);

/** Bits of `vfio_region_info.flags`. */
export const vfio_region_info_flags = flags(
  'vfio_region_info_flags',
  { READ: 1, WRITE: 2, MMAP: 4, CAPS: { value: 8, since: '4.7' } },
  { prefix: 'VFIO_REGION_INFO_FLAG_', since: '3.6' },
);

/**
 * Where a region (a BAR, config space, a vendor region) lives in the device fd's offset space.
 * History: the u32 at offset 12 was the reserved `resv` until capability chains arrived in 4.7 (commit
 * 2c107ada6725 "vfio: Define capability chains", which also added REGION_INFO_FLAG_CAPS); `size` and
 * `offset` were plain `__u64` until 6.7 (2f8d25fa8aed "vfio: trivially use __aligned_u64 for ioctl structs",
 * VFIO pull for v6.7-rc1), so before 6.7 the struct is 4-aligned on i386 (same 32 bytes).
 */
export const vfio_region_info = struct(
  'vfio_region_info',
  {
    argsz: u32.argsz(),
    flags: u32.flagsOf(vfio_region_info_flags).out(),
    /** Which region the caller asks about. */
    index: u32,
    cap_offset: was(u32.out(), { until: '4.7', name: 'resv', type: u32.reserved() }),
    size: was(aligned_u64.out(), { until: '6.7', type: u64 }),
    /** Offset to use with pread/pwrite/mmap on the device fd. */
    offset: was(aligned_u64.out(), { until: '6.7', type: u64 }),
  },
  { since: '3.6', minsz: 'offset', expect: { size: 32, align: 8 } },
);

/** Bits of `vfio_irq_info.flags`: how the interrupts of an index may be signalled and masked. */
export const vfio_irq_info_flags = flags(
  'vfio_irq_info_flags',
  {
    /** The index can signal through an eventfd. */
    EVENTFD: 1,
    /** MASK and UNMASK actions work on this index. */
    MASKABLE: 2,
    /** After each signal the line is masked until the user unmasks it (level-triggered interrupts). */
    AUTOMASKED: 4,
    /** The vectors are set up as one set: enabling more means disabling the index first. */
    NORESIZE: 8,
  },
  { prefix: 'VFIO_IRQ_INFO_', since: '3.6' },
);

/** An interrupt index: how many vectors it has and how it may be signalled. */
export const vfio_irq_info = struct(
  'vfio_irq_info',
  {
    argsz: u32.argsz(),
    flags: u32.flagsOf(vfio_irq_info_flags).out(),
    index: u32,
    count: u32.out(),
  },
  { since: '3.6', minsz: 'count', expect: { size: 16, align: 4 } },
);

/** Bits of `vfio_irq_set.flags`: one data type and one action. */
export const vfio_irq_set_flags = flags(
  'vfio_irq_set_flags',
  { DATA_NONE: 1, DATA_BOOL: 2, DATA_EVENTFD: 4, ACTION_MASK: 8, ACTION_UNMASK: 16, ACTION_TRIGGER: 32 },
  {
    prefix: 'VFIO_IRQ_SET_',
    since: '3.6',
    /** Exactly one DATA_* bit and one ACTION_* bit are set: the two fields of the word. */
    masks: { DATA_TYPE_MASK: 0x07, ACTION_TYPE_MASK: 0x38 },
  },
);

/** Mask, unmask or wire up interrupts; the data array holds bools or eventfds depending on the flags. */
export const vfio_irq_set = struct(
  'vfio_irq_set',
  {
    argsz: u32.argsz(),
    flags: u32.flagsOf(vfio_irq_set_flags),
    index: u32,
    start: u32,
    count: u32,
    data: flex(u8),
  },
  { since: '3.6', minsz: 'count', expect: { size: 20, align: 4 } },
);

/** One device affected by a PCI hot reset: its group (or, with the DEV_ID flag, its iommufd device id). */
export const vfio_pci_dependent_device = struct(
  'vfio_pci_dependent_device',
  {
    /** Anonymous union in C: a group id, or an iommufd device id when the reset info has DEV_ID set. */
    group_id: union(
      'vfio_pci_dependent_device_id',
      { group_id: u32, devid: addedIn('6.6', u32) },
      { since: '3.12', anonymous: true },
    ),
    segment: u16,
    bus: u8,
    devfn: u8,
  },
  { since: '3.12', expect: { size: 8, align: 4 } },
);

/** Bits of `vfio_pci_hot_reset_info.flags`. */
export const vfio_pci_hot_reset_flags = flags(
  'vfio_pci_hot_reset_flags',
  { DEV_ID: 1, DEV_ID_OWNED: 2 },
  { prefix: 'VFIO_PCI_HOT_RESET_FLAG_', since: '6.6' },
);

/** Which devices a hot reset of this one would also reset. */
export const vfio_pci_hot_reset_info = struct(
  'vfio_pci_hot_reset_info',
  {
    argsz: u32.argsz(),
    flags: u32.flagsOf(vfio_pci_hot_reset_flags).out(),
    count: u32,
    devices: flex(vfio_pci_dependent_device, { countedBy: 'count' }),
  },
  { since: '3.12', minsz: 'count', expect: { size: 12, align: 4 } },
);

/** Reset a set of PCI devices at once; the caller proves ownership with group fds (none for cdev). */
export const vfio_pci_hot_reset = struct(
  'vfio_pci_hot_reset',
  {
    argsz: u32.argsz(),
    flags: u32.reserved(),
    count: u32,
    group_fds: flex(s32, { countedBy: 'count' }),
  },
  { since: '3.12', minsz: 'count', expect: { size: 12, align: 4 } },
);

/** Bits of `vfio_device_ioeventfd.flags`: the width of the write, one bit per size in bytes. */
export const vfio_device_ioeventfd_flags = flags(
  'vfio_device_ioeventfd_flags',
  { '8': 1, '16': 2, '32': 4, '64': 8 },
  { prefix: 'VFIO_DEVICE_IOEVENTFD_', since: '4.17', masks: { SIZE_MASK: 0xf } },
);

/**
 * Have the kernel write `data` at a device offset whenever an eventfd fires.
 * History: `offset` and `data` were plain `__u64` and `reserved` did not exist until 6.7 (61050c73441b
 * "vfio: use __aligned_u64 in struct vfio_device_ioeventfd", VFIO pull for v6.7-rc1): before 6.7 the struct
 * is 32 bytes on LP64 (tail padding) but 28 bytes, 4-aligned, on i386.
 */
export const vfio_device_ioeventfd = struct(
  'vfio_device_ioeventfd',
  {
    argsz: u32.argsz(),
    /** The access size (1, 2, 4 or 8 bytes), as a bit. */
    flags: u32.flagsOf(vfio_device_ioeventfd_flags),
    offset: was(aligned_u64, { until: '6.7', type: u64 }),
    data: was(aligned_u64, { until: '6.7', type: u64 }),
    fd: s32.fd(),
    /** Padding to a multiple of 8 bytes on every ABI. */
    reserved: addedIn('6.7', u32.reserved()),
  },
  { since: '4.17', minsz: 'fd', expect: { size: 32, align: 8 } },
);

/** Describe the device: flags, region count, interrupt count, optional capabilities. */
export const VFIO_DEVICE_GET_INFO = ioctl('VFIO_DEVICE_GET_INFO', {
  nr: nr(7),
  on: Device,
  arg: byPointer(vfio_device_info),
  since: '3.6',
});

/** Describe one region: size, offset in the fd, access flags. */
export const VFIO_DEVICE_GET_REGION_INFO = ioctl('VFIO_DEVICE_GET_REGION_INFO', {
  nr: nr(8),
  on: Device,
  arg: byPointer(vfio_region_info),
  since: '3.6',
});

/** Describe one interrupt index. */
export const VFIO_DEVICE_GET_IRQ_INFO = ioctl('VFIO_DEVICE_GET_IRQ_INFO', {
  nr: nr(9),
  on: Device,
  arg: byPointer(vfio_irq_info),
  since: '3.6',
});

/** Configure interrupt signalling. */
export const VFIO_DEVICE_SET_IRQS = ioctl('VFIO_DEVICE_SET_IRQS', {
  nr: nr(10),
  on: Device,
  arg: byPointer(vfio_irq_set),
  since: '3.6',
});

/** Reset the device. For migration this is the only way out of ERROR: the device returns to RUNNING and any data fd dies. */
export const VFIO_DEVICE_RESET = ioctl('VFIO_DEVICE_RESET', { nr: nr(11), on: Device, arg: noArg, since: '3.6' });

/** List the devices a PCI hot reset would affect. */
export const VFIO_DEVICE_GET_PCI_HOT_RESET_INFO = ioctl('VFIO_DEVICE_GET_PCI_HOT_RESET_INFO', {
  nr: nr(12),
  on: Device,
  arg: byPointer(vfio_pci_hot_reset_info),
  since: '3.12',
});

/** Perform a PCI hot reset of the affected set. */
export const VFIO_DEVICE_PCI_HOT_RESET = ioctl('VFIO_DEVICE_PCI_HOT_RESET', {
  nr: nr(13),
  on: Device,
  arg: byPointer(vfio_pci_hot_reset),
  since: '3.12',
});

/** Ask a mediated graphics device about a display plane. */
export const VFIO_DEVICE_QUERY_GFX_PLANE = ioctl('VFIO_DEVICE_QUERY_GFX_PLANE', {
  nr: nr(14),
  on: Device,
  arg: opaque('struct vfio_device_gfx_plane_info'),
  since: '4.16',
});

/** Export a display plane as a dma-buf. */
export const VFIO_DEVICE_GET_GFX_DMABUF = ioctl('VFIO_DEVICE_GET_GFX_DMABUF', {
  nr: nr(15),
  on: Device,
  arg: opaque('__u32'),
  since: '4.16',
});

/** Register or remove an ioeventfd. */
export const VFIO_DEVICE_IOEVENTFD = ioctl('VFIO_DEVICE_IOEVENTFD', {
  nr: nr(16),
  on: Device,
  arg: byPointer(vfio_device_ioeventfd),
  since: '4.17',
});

/**
 * Capability id (in `vfio_device_info`'s chain) of the PCIe AtomicOp completer capability: which atomic
 * widths the root port completes for the device. VFIO pull for v6.5-rc1 ("vfio/pci-core: Add capability for
 * AtomicOp completer support", 20230629144949.07e6cd78.alex.williamson@redhat.com).
 */
export const VFIO_DEVICE_INFO_CAP_PCI_ATOMIC_COMP = constant('VFIO_DEVICE_INFO_CAP_PCI_ATOMIC_COMP', 5, {
  since: '6.5',
});

/** Bits of `vfio_device_info_cap_pci_atomic_comp.flags`: AtomicOp completion widths supported. */
export const vfio_pci_atomic_comp_flags = flags(
  'vfio_pci_atomic_comp_flags',
  { COMP32: 1, COMP64: 2, COMP128: 4 },
  { prefix: 'VFIO_PCI_ATOMIC_', since: '6.5' },
);

/** The PCIe AtomicOp completer capability of a device-info chain. */
export const vfio_device_info_cap_pci_atomic_comp = struct(
  'vfio_device_info_cap_pci_atomic_comp',
  {
    /** id VFIO_DEVICE_INFO_CAP_PCI_ATOMIC_COMP, version 1. */
    header: vfio_info_cap_header,
    flags: u32.flagsOf(vfio_pci_atomic_comp_flags).out(),
    reserved: u32.reserved(),
  },
  { since: '6.5', expect: { size: 16, align: 4 } },
);

/** Values of a dependent device's `devid` when the reset info is in DEV_ID form. */
export const vfio_pci_devid = enumeration(
  'vfio_pci_devid',
  {
    /** Owned by the caller, but with no device id to report. */
    OWNED: 0,
    /** The device is not owned by the caller. */
    NOT_OWNED: -1,
  },
  { prefix: 'VFIO_PCI_DEVID_', since: '6.6' },
);

/**
 * Region type/subtype of the v1 migration region (5.8). Named `VFIO_REGION_TYPE_MIGRATION` and
 * `VFIO_REGION_SUBTYPE_MIGRATION` until 5.18, when migration v2 replaced the region and the names gained
 * `_DEPRECATED`; the numbers are kept so old values stay recognisable.
 */
export const vfio_region_migration_deprecated = enumeration(
  'vfio_region_migration_deprecated',
  {
    TYPE_MIGRATION_DEPRECATED: { value: 3, formerly: [{ name: 'VFIO_REGION_TYPE_MIGRATION', until: '5.18' }] },
    SUBTYPE_MIGRATION_DEPRECATED: { value: 1, formerly: [{ name: 'VFIO_REGION_SUBTYPE_MIGRATION', until: '5.18' }] },
  },
  { prefix: 'VFIO_REGION_', since: '5.8' },
);
