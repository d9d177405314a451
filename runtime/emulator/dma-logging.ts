/**
 * DMA dirty-page logging (features 6, 7, 8), after the checks the vfio core makes on the arguments
 * (rules dma_logging.*). The 'bitmap' flavour (mlx5) logs pages the running device writes and refuses a second
 * START with EBUSY. The 'stub' flavour (mtty) is like mtty's log ops, which keep no state and answer 0: a
 * second START is accepted and REPORT sets no bit.
 *
 * REPORT on a stub device succeeds. On real mtty the answer depends on the kernel, not the driver: the core
 * fills the caller's bitmap through iova_bitmap, which only exists with CONFIG_IOMMUFD_DRIVER; without it
 * (Debian's 6.12) REPORT answers EOPNOTSUPP before mtty is asked. The emulator stands for a kernel with iommufd
 * (it offers the cdev + iommufd path, and the x86 IOMMU drivers select IOMMUFD_DRIVER there), so REPORT
 * reaches mtty's stub, which reports nothing.
 */
import { Errno } from '../sys/errno.js';
import { AnswerErrno } from './seccomp/handler.js';

/** What fits in one 4 KiB page of {u64 iova, u64 length} entries. */
export const MAX_LOGGING_RANGES = 4096 / 16;
const U64_END = 1n << 64n;
/** Pages marked dirty per range when logging starts (the device was busy before anyone asked). */
const INITIAL_DIRTY_PER_RANGE = 8;

const isPowerOfTwo = (x: bigint) => x > 0n && (x & (x - 1n)) === 0n;

export interface LoggingRange {
  iova: bigint;
  length: bigint;
}

export class DmaLog {
  active = false;
  private pageSize = 4096n;
  private ranges: LoggingRange[] = [];
  /** Page-aligned addresses written since they were last reported. */
  private readonly dirty = new Set<bigint>();
  private nextWrite = 0n;

  constructor(readonly flavour: 'none' | 'stub' | 'bitmap') {}

  /** START: validate like the core, then begin logging; returns the page size chosen. */
  start(pageSize: bigint, ranges: LoggingRange[]): bigint {
    if (ranges.length === 0) throw new AnswerErrno(Errno.EINVAL); // dma_logging.start.no_ranges
    if (ranges.length > MAX_LOGGING_RANGES) throw new AnswerErrno(Errno.E2BIG); // dma_logging.start.too_many
    if (!isPowerOfTwo(pageSize)) throw new AnswerErrno(Errno.EINVAL); // dma_logging.start.align
    const sorted: LoggingRange[] = [];
    for (const r of ranges) {
      if (r.length === 0n || r.iova % pageSize !== 0n || r.length % pageSize !== 0n)
        throw new AnswerErrno(Errno.EINVAL);
      if (r.iova + r.length > U64_END - 1n) throw new AnswerErrno(Errno.EOVERFLOW); // dma_logging.start.overflow
      sorted.push(r);
    }
    sorted.sort((a, b) => (a.iova < b.iova ? -1 : a.iova > b.iova ? 1 : 0));
    for (let i = 1; i < sorted.length; i++)
      if (sorted[i]!.iova < sorted[i - 1]!.iova + sorted[i - 1]!.length) throw new AnswerErrno(Errno.EINVAL); // overlap
    if (this.active && this.flavour === 'bitmap') throw new AnswerErrno(Errno.EBUSY); // dma_logging.start.once
    this.active = true;
    this.pageSize = pageSize < 4096n ? 4096n : pageSize;
    this.ranges = sorted;
    this.dirty.clear();
    this.nextWrite = 0n;
    if (this.flavour === 'bitmap')
      for (const r of sorted)
        for (let p = 0n; p < BigInt(INITIAL_DIRTY_PER_RANGE) && p * 2n * this.pageSize < r.length; p++)
          this.dirty.add(r.iova + p * 2n * this.pageSize);
    return this.pageSize;
  }

  stop(): void {
    this.active = false;
    this.dirty.clear();
  }

  /** The running device writes one more page (round robin over the logged ranges). */
  deviceWrites(): void {
    if (!this.active || this.flavour !== 'bitmap' || this.ranges.length === 0) return;
    const first = this.ranges[0]!;
    const pages = first.length / this.pageSize;
    this.dirty.add(first.iova + (this.nextWrite % pages) * this.pageSize + 0n);
    this.nextWrite += 3n;
  }

  /**
   * REPORT: which pages of [iova, iova + length) were written, as bit numbers at `pageSize` granularity;
   * reported pages are cleared from the log.
   */
  report(iova: bigint, length: bigint, pageSize: bigint): bigint[] {
    if (pageSize < 4096n || !isPowerOfTwo(pageSize)) throw new AnswerErrno(Errno.EINVAL); // report.page_size
    if (iova + length > U64_END - 1n) throw new AnswerErrno(Errno.EOVERFLOW); // report.overflow
    if (this.flavour === 'stub') return []; // mtty's read_and_clear: always 0, no bit set
    if (!this.active || length === 0n) throw new AnswerErrno(Errno.EINVAL);
    const bits = new Set<bigint>();
    for (const addr of [...this.dirty]) {
      if (addr < iova || addr >= iova + length) continue;
      bits.add((addr - iova) / pageSize);
      this.dirty.delete(addr);
    }
    return [...bits].sort((a, b) => (a < b ? -1 : 1));
  }
}
