/** Faults injected from the main thread (`handle.inject`), consumed by the next calls they match. */
import type { Fault } from './api.js';

export class FaultQueue {
  private readonly pending: Fault[] = [];

  add(fault: Fault): void {
    this.pending.push({ ...fault });
  }

  /** An EINTR/EAGAIN queued for this kind of data-fd call, used up one time per call. */
  takeTransferErrno(on: 'read' | 'write'): 'EINTR' | 'EAGAIN' | undefined {
    const f = this.pending.find((x) => (x.kind === 'EINTR' || x.kind === 'EAGAIN') && x.on === on);
    if (!f || (f.kind !== 'EINTR' && f.kind !== 'EAGAIN')) return undefined;
    this.consume(f);
    return f.kind;
  }

  /** True when an EIO was queued for this arc (and uses it up). */
  takeArcFailure(from: string, to: string): boolean {
    const f = this.pending.find((x) => x.kind === 'EIO' && x.arc.from === from && x.arc.to === to);
    if (!f) return false;
    this.consume(f);
    return true;
  }

  /** An errno queued for the next call of this optional feature (MIG_DATA_SIZE, MIG_PRECOPY_INFOv2). */
  takeFeatureErrno(feature: string): string | undefined {
    const f = this.pending.find((x) => x.kind === 'feature-errno' && x.feature === feature);
    if (!f || f.kind !== 'feature-errno') return undefined;
    this.consume(f);
    return f.errno;
  }

  /** A queued early close: the next saving session (or the current one) ends after this many bytes. */
  takeEarlyClose(): number | undefined {
    const f = this.pending.find((x) => x.kind === 'close-data-fd-early');
    if (!f || f.kind !== 'close-data-fd-early') return undefined;
    this.pending.splice(this.pending.indexOf(f), 1);
    return f.afterBytes;
  }

  private consume(f: Fault): void {
    const left = ('times' in f ? (f.times ?? 1) : 1) - 1;
    if (left <= 0) this.pending.splice(this.pending.indexOf(f), 1);
    else (f as { times?: number }).times = left;
  }
}
