import {
  addedIn,
  aligned_u64,
  byPointer,
  byValue,
  cString,
  flags,
  flex,
  intPointer,
  ioctl,
  noArg,
  opaque,
  struct,
  u32,
  u64,
  u8,
  was,
} from '../dsl/index.js';
import { Container, Device, Group, VFIO_BASE } from './base.js';

const nr = (k: number) => VFIO_BASE.value + k;

/** Bits of `vfio_group_status.flags`. */
export const vfio_group_flags = flags(
  'vfio_group_flags',
  {
    /** Every device in the group is bound to a VFIO driver (or to none), so the group may be used. */
    VIABLE: 1,
    /** The group is already attached to a container. */
    CONTAINER_SET: 2,
  },
  { prefix: 'VFIO_GROUP_FLAGS_', since: '3.6' },
);

/** What a group reports about itself. */
export const vfio_group_status = struct(
  'vfio_group_status',
  {
    argsz: u32.argsz(),
    flags: u32.flagsOf(vfio_group_flags).out(),
  },
  { since: '3.6', minsz: 'flags', expect: { size: 8, align: 4 } },
);

/** Bits of `vfio_iommu_type1_info.flags`: which parts of the answer are valid. */
export const vfio_iommu_type1_info_flags = flags(
  'vfio_iommu_type1_info_flags',
  {
    /** `iova_pgsizes` holds the supported IOMMU page sizes. */
    PGSIZES: 1,
    /** `cap_offset` points at a capability chain. */
    CAPS: { value: 2, since: '5.4' },
  },
  { prefix: 'VFIO_IOMMU_INFO_', since: '3.6' },
);

/**
 * Answer of the type1 IOMMU about its page sizes and capabilities. Grew twice and was retyped once:
 * `cap_offset` arrived with the IOVA-range capability in 5.4; `pad` with "vfio: align capability structures"
 * (a881b496941f, VFIO pull for v6.6-rc1); `iova_pgsizes` was a plain `__u64` until 6.7 (2f8d25fa8aed). So on
 * i386 it is 16 bytes before 5.4, 20 bytes 4-aligned in 5.4–6.5, 24 bytes 4-aligned in 6.6 and 24 bytes
 * 8-aligned from 6.7; on LP64 16, then 24.
 */
export const vfio_iommu_type1_info = struct(
  'vfio_iommu_type1_info',
  {
    argsz: u32.argsz(),
    flags: u32.flagsOf(vfio_iommu_type1_info_flags).out(),
    /** Bitmap of the IOMMU page sizes the container supports. */
    iova_pgsizes: was(aligned_u64.out(), { until: '6.7', type: u64 }),
    /** Offset of the first capability in the answer buffer, 0 if none. */
    cap_offset: addedIn('5.4', u32.out()),
    /** Padding to a multiple of 8 bytes. */
    pad: addedIn('6.6', u32.reserved()),
  },
  { since: '3.6', minsz: 'iova_pgsizes', expect: { size: 24, align: 8 } },
);

/** Bits of `vfio_iommu_type1_dma_map.flags`. */
export const vfio_dma_map_flags = flags(
  'vfio_dma_map_flags',
  {
    /** The device may read the mapping. */
    READ: 1,
    /** The device may write the mapping. */
    WRITE: 2,
    /** Only update the process address of an existing mapping (live update; extension UPDATE_VADDR). */
    VADDR: { value: 4, since: '5.12' },
  },
  { prefix: 'VFIO_DMA_MAP_FLAG_', since: '3.6' },
);

/** Map a range of process memory at an IO virtual address (type1). Plain u64s: 4-aligned on i386. */
export const vfio_iommu_type1_dma_map = struct(
  'vfio_iommu_type1_dma_map',
  {
    argsz: u32.argsz(),
    flags: u32.flagsOf(vfio_dma_map_flags),
    /** Process virtual address of the memory to map. */
    vaddr: u64.pointer({ required: true }),
    /** IO virtual address the device will use. */
    iova: u64,
    size: u64,
  },
  { since: '3.6', minsz: 'size', expect: { size: 32, align: 8 } },
);

/** Bits of `vfio_iommu_type1_dma_unmap.flags`. */
export const vfio_dma_unmap_flags = flags(
  'vfio_dma_unmap_flags',
  {
    /** Also return the range's dirty bitmap (a `struct vfio_bitmap` in `data`). */
    GET_DIRTY_BITMAP: { value: 1, since: '5.8' },
    /** Unmap every mapping (extension UNMAP_ALL); iova and size must be 0. */
    ALL: { value: 2, since: '5.12' },
    /** Invalidate only the process address of mappings, keeping them (live update). */
    VADDR: { value: 4, since: '5.12' },
  },
  { prefix: 'VFIO_DMA_UNMAP_FLAG_', since: '5.8' },
);

/**
 * Unmap an IO virtual address range (type1). Since 5.8 (the dirty-bitmap-on-unmap change of the v5.8 VFIO
 * pull) a `struct vfio_bitmap` may follow in `data` when the caller asks for the dirty bitmap.
 */
export const vfio_iommu_type1_dma_unmap = struct(
  'vfio_iommu_type1_dma_unmap',
  {
    argsz: u32.argsz(),
    flags: u32.flagsOf(vfio_dma_unmap_flags),
    iova: u64,
    size: u64,
    data: addedIn('5.8', flex(u8)),
  },
  { since: '3.6', minsz: 'size', expect: { size: 24, align: 8 } },
);

/** Ask the container which API version it speaks; the answer is the return value (always 0). */
export const VFIO_GET_API_VERSION = ioctl('VFIO_GET_API_VERSION', {
  nr: nr(0),
  on: Container,
  arg: noArg,
  since: '3.6',
});

/** Ask whether the container supports an extension; the id is passed by value, the answer (0 or >0) returned. */
export const VFIO_CHECK_EXTENSION = ioctl('VFIO_CHECK_EXTENSION', {
  nr: nr(1),
  on: Container,
  arg: byValue(u32),
  since: '3.6',
});

/** Choose the container's IOMMU model (by value); at least one group must be attached first. */
export const VFIO_SET_IOMMU = ioctl('VFIO_SET_IOMMU', { nr: nr(2), on: Container, arg: byValue(u32), since: '3.6' });

/** Read the group's flags: is it viable, is it attached. */
export const VFIO_GROUP_GET_STATUS = ioctl('VFIO_GROUP_GET_STATUS', {
  nr: nr(3),
  on: Group,
  arg: byPointer(vfio_group_status),
  since: '3.6',
});

/** Attach the group to a container; the argument points at an int holding the container (or iommufd) fd. */
export const VFIO_GROUP_SET_CONTAINER = ioctl('VFIO_GROUP_SET_CONTAINER', {
  nr: nr(4),
  on: Group,
  arg: intPointer,
  since: '3.6',
});

/** Detach the group from its container; refused while device fds are open. */
export const VFIO_GROUP_UNSET_CONTAINER = ioctl('VFIO_GROUP_UNSET_CONTAINER', {
  nr: nr(5),
  on: Group,
  arg: noArg,
  since: '3.6',
});

/** Open a device of the group by name (a NUL-terminated string); the new device fd is the return value. */
export const VFIO_GROUP_GET_DEVICE_FD = ioctl('VFIO_GROUP_GET_DEVICE_FD', {
  nr: nr(6),
  on: Group,
  arg: cString,
  returnsFd: Device,
  since: '3.6',
});

/** Type1 container: page sizes and capabilities. Shares its number with a device ioctl. */
export const VFIO_IOMMU_GET_INFO = ioctl('VFIO_IOMMU_GET_INFO', {
  nr: nr(12),
  on: Container,
  arg: byPointer(vfio_iommu_type1_info),
  since: '3.6',
});

/** Type1 container: map memory for DMA. */
export const VFIO_IOMMU_MAP_DMA = ioctl('VFIO_IOMMU_MAP_DMA', {
  nr: nr(13),
  on: Container,
  arg: byPointer(vfio_iommu_type1_dma_map),
  since: '3.6',
});

/** Type1 container: unmap a DMA range. */
export const VFIO_IOMMU_UNMAP_DMA = ioctl('VFIO_IOMMU_UNMAP_DMA', {
  nr: nr(14),
  on: Container,
  arg: byPointer(vfio_iommu_type1_dma_unmap),
  since: '3.6',
});

/** sPAPR container: enable the IOMMU window. */
export const VFIO_IOMMU_ENABLE = ioctl('VFIO_IOMMU_ENABLE', { nr: nr(15), on: Container, arg: noArg, since: '3.12' });

/** sPAPR container: disable the IOMMU window. */
export const VFIO_IOMMU_DISABLE = ioctl('VFIO_IOMMU_DISABLE', { nr: nr(16), on: Container, arg: noArg, since: '3.12' });

/** Type1 container: start, stop or read dirty-page tracking (migration v1 era). Same number as VFIO_DEVICE_FEATURE. */
export const VFIO_IOMMU_DIRTY_PAGES = ioctl('VFIO_IOMMU_DIRTY_PAGES', {
  nr: nr(17),
  on: Container,
  arg: opaque('struct vfio_iommu_type1_dirty_bitmap'),
  since: '5.8',
});

/** sPAPR container: EEH operations on a partitionable endpoint. Same number as VFIO_MIG_GET_PRECOPY_INFO. */
export const VFIO_EEH_PE_OP = ioctl('VFIO_EEH_PE_OP', {
  nr: nr(21),
  on: Container,
  arg: opaque('struct vfio_eeh_pe_op'),
  since: '4.1',
});
