import {
  addedIn,
  aligned_u64,
  byPointer,
  enumeration,
  flags,
  ioctl,
  opaque,
  s32,
  struct,
  u32,
  user_ptr,
} from '../dsl/index.js';
import { DeviceCdev, IOMMUFD_CMD_BASE, Iommufd, VFIO_BASE } from './base.js';

const nr = (k: number) => VFIO_BASE.value + k;
const iommufdNr = (k: number) => IOMMUFD_CMD_BASE.value + k;

/** iommufd command numbers (the `nr` of each iommufd ioctl). */
export const iommufd_cmd = enumeration(
  'iommufd_cmd',
  {
    DESTROY: 0x80,
    IOAS_ALLOC: 0x81,
    IOAS_ALLOW_IOVAS: 0x82,
    IOAS_COPY: 0x83,
    IOAS_IOVA_RANGES: 0x84,
    IOAS_MAP: 0x85,
    IOAS_UNMAP: 0x86,
    OPTION: 0x87,
    VFIO_IOAS: 0x88,
    HWPT_ALLOC: { value: 0x89, since: '6.6' },
    GET_HW_INFO: { value: 0x8a, since: '6.6' },
    HWPT_SET_DIRTY_TRACKING: { value: 0x8b, since: '6.7' },
    HWPT_GET_DIRTY_BITMAP: { value: 0x8c, since: '6.7' },
    HW_QUEUE_ALLOC: { value: 0x94, since: '6.17' },
    IOAS_NOIOMMU_GET_PA: { value: 0x95, since: '7.3' },
  },
  { prefix: 'IOMMUFD_CMD_', since: '6.2' },
);

/** Bits of `vfio_device_bind_iommufd.flags`. */
export const vfio_device_bind_flags = flags(
  'vfio_device_bind_flags',
  {
    /** `token_uuid_ptr` points at the 16-byte VF token shared with the PF driver. */
    TOKEN: 1,
  },
  { prefix: 'VFIO_DEVICE_BIND_FLAG_', since: '6.17' },
);

/** Bind a cdev device fd to an iommufd; until this succeeds the fd refuses everything else. */
export const vfio_device_bind_iommufd = struct(
  'vfio_device_bind_iommufd',
  {
    argsz: u32.argsz(),
    flags: u32.flagsOf(vfio_device_bind_flags),
    /** The iommufd to bind to; must be a valid fd. */
    iommufd: s32.fd(),
    /** The device's id inside that iommufd, filled in on success. */
    out_devid: u32.out(),
    token_uuid_ptr: addedIn('6.17', user_ptr()),
  },
  { since: '6.6', minsz: 'out_devid', expect: { size: 24, align: 8 } },
);

/** Bits of `vfio_device_attach_iommufd_pt.flags`. */
export const vfio_device_attach_flags = flags(
  'vfio_device_attach_flags',
  {
    /** Attach only the given PASID of the device. */
    PASID: 1,
  },
  { prefix: 'VFIO_DEVICE_ATTACH_', since: '6.15' },
);

/** Attach a bound device to an IO address space or hardware page table. */
export const vfio_device_attach_iommufd_pt = struct(
  'vfio_device_attach_iommufd_pt',
  {
    argsz: u32.argsz(),
    flags: u32.flagsOf(vfio_device_attach_flags),
    /** In: the IOAS or HWPT id. Out: the id actually attached. */
    pt_id: u32,
    pasid: addedIn('6.15', u32),
  },
  { since: '6.6', minsz: 'pt_id', expect: { size: 16, align: 4 } },
);

/** Bits of `vfio_device_detach_iommufd_pt.flags`. */
export const vfio_device_detach_flags = flags(
  'vfio_device_detach_flags',
  { PASID: 1 },
  { prefix: 'VFIO_DEVICE_DETACH_', since: '6.15' },
);

/** Detach a device (or one PASID of it) from its page table. */
export const vfio_device_detach_iommufd_pt = struct(
  'vfio_device_detach_iommufd_pt',
  {
    argsz: u32.argsz(),
    flags: u32.flagsOf(vfio_device_detach_flags),
    pasid: addedIn('6.15', u32),
  },
  { since: '6.6', minsz: 'flags', expect: { size: 12, align: 4 } },
);

/** Destroy an iommufd object (IOAS, HWPT, ...) by id. */
export const iommu_destroy = struct(
  'iommu_destroy',
  { size: u32.argsz(), id: u32 },
  { since: '6.2', minsz: 'id', expect: { size: 8, align: 4 } },
);

/** Allocate an IO address space; flags must be zero. */
export const iommu_ioas_alloc = struct(
  'iommu_ioas_alloc',
  { size: u32.argsz(), flags: u32.reserved(), out_ioas_id: u32.out() },
  { since: '6.2', minsz: 'out_ioas_id', expect: { size: 12, align: 4 } },
);

/** One inclusive IOVA range. */
export const iommu_iova_range = struct(
  'iommu_iova_range',
  { start: aligned_u64, last: aligned_u64 },
  { since: '6.2', expect: { size: 16, align: 8 } },
);

/** Restrict an IOAS to the given IOVA ranges (an array of `iommu_iova_range` in user memory). */
export const iommu_ioas_allow_iovas = struct(
  'iommu_ioas_allow_iovas',
  {
    size: u32.argsz(),
    ioas_id: u32,
    /** How many ranges `allowed_iovas` points at. */
    num_iovas: u32,
    __reserved: u32.reserved(),
    allowed_iovas: user_ptr(),
  },
  { since: '6.2', minsz: 'allowed_iovas', expect: { size: 24, align: 8 } },
);

/** Ask which IOVA ranges an IOAS allows; the ranges land in a user array. */
export const iommu_ioas_iova_ranges = struct(
  'iommu_ioas_iova_ranges',
  {
    size: u32.argsz(),
    ioas_id: u32,
    /** In: room in the array. Out: ranges available (EMSGSIZE when the room was short). */
    num_iovas: u32,
    __reserved: u32.reserved(),
    allowed_iovas: user_ptr(),
    out_iova_alignment: aligned_u64.out(),
  },
  { since: '6.2', minsz: 'out_iova_alignment', expect: { size: 32, align: 8 } },
);

/** Bits of `iommu_ioas_map.flags` (enum iommufd_ioas_map_flags). */
export const iommufd_ioas_map_flags = flags(
  'iommufd_ioas_map_flags',
  {
    /** Map at exactly `iova` (which must be free) instead of letting the kernel pick one. */
    FIXED_IOVA: 1,
    /** Device DMA may write the mapping. */
    WRITEABLE: 2,
    /** Device DMA may read the mapping. */
    READABLE: 4,
  },
  { prefix: 'IOMMU_IOAS_MAP_', since: '6.2' },
);

/** Map process memory into an IOAS. */
export const iommu_ioas_map = struct(
  'iommu_ioas_map',
  {
    size: u32.argsz(),
    flags: u32.flagsOf(iommufd_ioas_map_flags),
    ioas_id: u32,
    __reserved: u32.reserved(),
    user_va: user_ptr({ required: true }),
    length: aligned_u64,
    iova: aligned_u64,
  },
  { since: '6.2', minsz: 'iova', expect: { size: 40, align: 8 } },
);

/** Unmap an IOVA range of an IOAS. */
export const iommu_ioas_unmap = struct(
  'iommu_ioas_unmap',
  { size: u32.argsz(), ioas_id: u32, iova: aligned_u64, length: aligned_u64 },
  { since: '6.2', minsz: 'length', expect: { size: 24, align: 8 } },
);

/** Bind the cdev to an iommufd (first step of the cdev path). */
export const VFIO_DEVICE_BIND_IOMMUFD = ioctl('VFIO_DEVICE_BIND_IOMMUFD', {
  nr: nr(18),
  on: DeviceCdev,
  arg: byPointer(vfio_device_bind_iommufd),
  since: '6.6',
});

/** Attach the bound device to an IOAS or HWPT; attaching again replaces. */
export const VFIO_DEVICE_ATTACH_IOMMUFD_PT = ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', {
  nr: nr(19),
  on: DeviceCdev,
  arg: byPointer(vfio_device_attach_iommufd_pt),
  since: '6.6',
});

/** Detach the device from its page table. */
export const VFIO_DEVICE_DETACH_IOMMUFD_PT = ioctl('VFIO_DEVICE_DETACH_IOMMUFD_PT', {
  nr: nr(20),
  on: DeviceCdev,
  arg: byPointer(vfio_device_detach_iommufd_pt),
  since: '6.6',
});

/** Destroy an iommufd object. */
export const IOMMU_DESTROY = ioctl('IOMMU_DESTROY', {
  nr: iommufdNr(0),
  on: Iommufd,
  arg: byPointer(iommu_destroy),
  since: '6.2',
});

/** Allocate an IOAS. */
export const IOMMU_IOAS_ALLOC = ioctl('IOMMU_IOAS_ALLOC', {
  nr: iommufdNr(1),
  on: Iommufd,
  arg: byPointer(iommu_ioas_alloc),
  since: '6.2',
});

/** Restrict the IOVA ranges an IOAS may use. */
export const IOMMU_IOAS_ALLOW_IOVAS = ioctl('IOMMU_IOAS_ALLOW_IOVAS', {
  nr: iommufdNr(2),
  on: Iommufd,
  arg: byPointer(iommu_ioas_allow_iovas),
  since: '6.2',
});

/** Copy a mapping from one IOAS to another. */
export const IOMMU_IOAS_COPY = ioctl('IOMMU_IOAS_COPY', {
  nr: iommufdNr(3),
  on: Iommufd,
  arg: opaque('struct iommu_ioas_copy'),
  since: '6.2',
});

/** List the IOVA ranges an IOAS allows. */
export const IOMMU_IOAS_IOVA_RANGES = ioctl('IOMMU_IOAS_IOVA_RANGES', {
  nr: iommufdNr(4),
  on: Iommufd,
  arg: byPointer(iommu_ioas_iova_ranges),
  since: '6.2',
});

/** Map memory into an IOAS. */
export const IOMMU_IOAS_MAP = ioctl('IOMMU_IOAS_MAP', {
  nr: iommufdNr(5),
  on: Iommufd,
  arg: byPointer(iommu_ioas_map),
  since: '6.2',
});

/** Unmap from an IOAS. */
export const IOMMU_IOAS_UNMAP = ioctl('IOMMU_IOAS_UNMAP', {
  nr: iommufdNr(6),
  on: Iommufd,
  arg: byPointer(iommu_ioas_unmap),
  since: '6.2',
});

/** Set or read an iommufd option. */
export const IOMMU_OPTION = ioctl('IOMMU_OPTION', {
  nr: iommufdNr(7),
  on: Iommufd,
  arg: opaque('struct iommu_option'),
  since: '6.2',
});

/** Get or set the IOAS used by the VFIO container compatibility layer. */
export const IOMMU_VFIO_IOAS = ioctl('IOMMU_VFIO_IOAS', {
  nr: iommufdNr(8),
  on: Iommufd,
  arg: opaque('struct iommu_vfio_ioas'),
  since: '6.2',
});

/** Allocate a hardware page table. */
export const IOMMU_HWPT_ALLOC = ioctl('IOMMU_HWPT_ALLOC', {
  nr: iommufdNr(9),
  on: Iommufd,
  arg: opaque('struct iommu_hwpt_alloc'),
  since: '6.6',
});

/** Report hardware IOMMU information for a device. */
export const IOMMU_GET_HW_INFO = ioctl('IOMMU_GET_HW_INFO', {
  nr: iommufdNr(10),
  on: Iommufd,
  arg: opaque('struct iommu_hw_info'),
  since: '6.6',
});

/** Turn IOMMU dirty tracking of a HWPT on or off. */
export const IOMMU_HWPT_SET_DIRTY_TRACKING = ioctl('IOMMU_HWPT_SET_DIRTY_TRACKING', {
  nr: iommufdNr(11),
  on: Iommufd,
  arg: opaque('struct iommu_hwpt_set_dirty_tracking'),
  since: '6.7',
});

/** Read and clear the IOMMU dirty bitmap of a HWPT range. */
export const IOMMU_HWPT_GET_DIRTY_BITMAP = ioctl('IOMMU_HWPT_GET_DIRTY_BITMAP', {
  nr: iommufdNr(12),
  on: Iommufd,
  arg: opaque('struct iommu_hwpt_get_dirty_bitmap'),
  since: '6.7',
});

/**
 * Look up the physical memory behind an IOVA of an IOAS (no-IOMMU cdev mode, for devices doing unsafe DMA).
 * In 7.3 (absent from Debian's 7.2.13 headers, present in 7.3.4), from the series "iommufd: Enable noiommu
 * mode for cdev".
 */
export const iommu_ioas_noiommu_get_pa = struct(
  'iommu_ioas_noiommu_get_pa',
  {
    size: u32.argsz(),
    flags: u32.reserved(),
    ioas_id: u32,
    __reserved: u32.reserved(),
    /** The IOVA to look up; its start must already be mapped. */
    iova: aligned_u64,
    /** In: how many bytes to look at (not 0). Out: how many of them are physically contiguous from `out_phys`. */
    length: aligned_u64,
    out_phys: aligned_u64.out(),
  },
  { since: '7.3', minsz: 'out_phys', expect: { size: 40, align: 8 } },
);

/** Translate an IOVA of an IOAS to a physical address (no-IOMMU mode only). */
export const IOMMU_IOAS_NOIOMMU_GET_PA = ioctl('IOMMU_IOAS_NOIOMMU_GET_PA', {
  nr: iommufdNr(0x15),
  on: Iommufd,
  arg: byPointer(iommu_ioas_noiommu_get_pa),
  since: '7.3',
});
