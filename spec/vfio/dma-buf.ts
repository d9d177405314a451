import { flex, struct, u32, u64 } from '../dsl/index.js';

/** One range of a region to export. Plain u64s, so only 4-aligned on i386. */
export const vfio_region_dma_range = struct(
  'vfio_region_dma_range',
  { offset: u64, length: u64 },
  { since: '6.19', expect: { size: 16, align: 8 } },
);

/** Payload of DMA_BUF: which region, how to open the dma-buf, and the ranges to put in it. */
export const vfio_device_feature_dma_buf = struct(
  'vfio_device_feature_dma_buf',
  {
    region_index: u32,
    /** O_* flags for the new dma-buf fd. */
    open_flags: u32,
    flags: u32.reserved(),
    nr_ranges: u32,
    dma_ranges: flex(vfio_region_dma_range, { countedBy: 'nr_ranges' }),
  },
  { since: '6.19', minsz: 'nr_ranges', expect: { size: 16, align: 8 } },
);
