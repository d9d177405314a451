import { aligned_u64, feature, struct, u32, user_ptr } from '../dsl/index.js';

/** One IOVA range whose DMA writes the device should log. */
export const vfio_device_feature_dma_logging_range = struct(
  'vfio_device_feature_dma_logging_range',
  { iova: aligned_u64, length: aligned_u64 },
  { since: '6.1', expect: { size: 16, align: 8 } },
);

/** Payload of DMA_LOGGING_START: the tracking granularity and the ranges to track. */
export const vfio_device_feature_dma_logging_control = struct(
  'vfio_device_feature_dma_logging_control',
  {
    /** In: the page size wanted. Out: the one the device chose. */
    page_size: aligned_u64,
    /** How many ranges `ranges` points at: at least one, at most what fits in a page. */
    num_ranges: u32,
    __reserved: u32.reserved(),
    /** User address of `num_ranges` dma_logging_range entries. */
    ranges: user_ptr({ required: true }),
  },
  { since: '6.1', expect: { size: 24, align: 8 } },
);

/** Payload of DMA_LOGGING_REPORT: read (and clear) the dirty bits of one range into a user bitmap. */
export const vfio_device_feature_dma_logging_report = struct(
  'vfio_device_feature_dma_logging_report',
  {
    iova: aligned_u64,
    length: aligned_u64,
    /** Bitmap granularity: a power of two, at least 4096. */
    page_size: aligned_u64,
    /** User address of a u64 array; bits are only ever set, so the caller zeroes it first. */
    bitmap: user_ptr({ required: true }),
  },
  { since: '6.1', expect: { size: 32, align: 8 } },
);

/** Start logging DMA writes to the given ranges. Probe with PROBE|SET to learn whether a device can. */
export const DMA_LOGGING_START = feature(6, 'DMA_LOGGING_START', {
  ops: ['SET'],
  payload: vfio_device_feature_dma_logging_control,
  minsz: 24,
  handler: 'core',
  needs: 'dma_logging',
  since: '6.1',
});

/** Stop DMA logging and drop the log. */
export const DMA_LOGGING_STOP = feature(7, 'DMA_LOGGING_STOP', {
  ops: ['SET'],
  minsz: 0,
  handler: 'core',
  needs: 'dma_logging',
  since: '6.1',
});

/** Read and clear the log of one range into a bitmap. */
export const DMA_LOGGING_REPORT = feature(8, 'DMA_LOGGING_REPORT', {
  ops: ['GET'],
  payload: vfio_device_feature_dma_logging_report,
  minsz: 32,
  handler: 'core',
  needs: 'dma_logging',
  since: '6.1',
});
