/** Progress of a transfer: bytes, rate and the device's own estimate, emitted at most every `intervalMs`. */

export type Phase = 'precopy' | 'stopcopy' | 'resume';

export interface ProgressEvent {
  phase: Phase;
  /** Pre-copy round (1-based), 0 outside pre-copy. */
  round: number;
  /** Bytes moved in this phase so far. */
  phaseBytes: number;
  /** Bytes moved in the whole transfer so far. */
  totalBytes: number;
  /** Bytes per second over the whole transfer. */
  rate: number;
  /** What the device says is left or expected for this phase (PRECOPY_INFO or MIG_DATA_SIZE), if known. */
  estimate: number | null;
  /** The last event of a phase. */
  done: boolean;
}

export type ProgressListener = (e: ProgressEvent) => void;

export class ProgressMeter {
  private readonly start = performance.now();
  private last = 0;
  phase: Phase = 'precopy';
  round = 0;
  phaseBytes = 0;
  totalBytes = 0;
  estimate: number | null = null;

  constructor(
    private readonly listener: ProgressListener | undefined,
    private readonly intervalMs = 200,
  ) {}

  begin(phase: Phase, estimate: number | null, round = 0): void {
    this.phase = phase;
    this.round = round;
    this.phaseBytes = 0;
    this.estimate = estimate;
    this.emit(false, true);
  }

  add(n: number): void {
    this.phaseBytes += n;
    this.totalBytes += n;
    if (this.listener) this.emit(false, false);
  }

  end(): void {
    this.emit(true, true);
  }

  elapsedMs(): number {
    return performance.now() - this.start;
  }

  private emit(done: boolean, force: boolean): void {
    if (!this.listener) return;
    const now = performance.now();
    if (!force && now - this.last < this.intervalMs) return;
    this.last = now;
    const secs = Math.max((now - this.start) / 1000, 1e-6);
    this.listener({
      phase: this.phase,
      round: this.round,
      phaseBytes: this.phaseBytes,
      totalBytes: this.totalBytes,
      rate: this.totalBytes / secs,
      estimate: this.estimate,
      done,
    });
  }
}
