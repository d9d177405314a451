/**
 * Migration data sessions. A saving session offers an `OutgoingStream` through a source pipe (reads run at
 * pipe speed); a resuming session takes the caller's writes synchronously so a bad stream fails the very write
 * that carries it, as drivers do. Accounting for PRECOPY_INFO follows what the caller has consumed.
 */
import type { DataPipe } from './seccomp/data-pipe.js';
import type { GatherSink } from './seccomp/handler.js';
import type { ResumingBehaviour, SavingBehaviour } from './personalities/personality.js';

/** Part of an outgoing stream whose bytes are produced on demand (a header, a generated image...). */
export interface StreamSegment {
  readonly length: number;
  /** Write bytes [at, at + n) of this segment into `into` at 0. */
  fill(into: Buffer, at: number, n: number): void;
  /** Optionally, bytes [at, at + n) as pieces for a pipe (see `DataSource.gather`); else `fill` is used. */
  gather?(at: number, n: number, sink: GatherSink): void;
}

export function bytesSegment(bytes: Buffer): StreamSegment {
  return {
    length: bytes.length,
    fill: (into, at, n) => void bytes.copy(into, 0, at, at + n),
    gather: (at, n, sink) => sink.copy(bytes, at, at + n),
  };
}

/** The bytes a saving session offers, appended by the personality, produced lazily into the pipe. */
export class OutgoingStream {
  private readonly segments: StreamSegment[] = [];
  private current = 0;
  private offsetInCurrent = 0;
  /** Bytes appended so far (the stream's length now). */
  available = 0;
  /** Bytes handed to the pipe so far. */
  produced = 0;
  /** Stream offset where the current initial data ends (PRECOPY_INFO initial_bytes counts up to here). */
  initialEnd = 0;
  /** Stop producing after this many bytes (the close-data-fd-early fault). */
  limit = Infinity;
  onGrow: () => void = () => {};
  private scratch = Buffer.alloc(0);

  append(segment: StreamSegment, { initial = false } = {}): void {
    if (segment.length === 0) return;
    this.segments.push(segment);
    this.available += segment.length;
    if (initial) this.initialEnd = this.available;
    this.onGrow();
  }

  /** The pipe's data source: fill `into` with the next bytes. */
  produce(into: Buffer): number {
    return this.advance(into.length, (seg, at, n, filled) =>
      seg.fill(filled === 0 ? into : into.subarray(filled), at, n),
    );
  }

  /** The pipe's gathering source: the next (at most `max`) bytes as pieces, the same bytes `produce` gives. */
  gather(max: number, sink: GatherSink): number {
    return this.advance(max, (seg, at, n) => {
      if (seg.gather) return seg.gather(at, n, sink);
      if (this.scratch.length < n) this.scratch = Buffer.allocUnsafe(Math.max(n, 1 << 16));
      seg.fill(this.scratch, at, n);
      sink.copy(this.scratch, 0, n);
    });
  }

  private advance(max: number, emit: (seg: StreamSegment, at: number, n: number, filled: number) => void): number {
    let filled = 0;
    const room = Math.min(max, this.limit - this.produced);
    while (filled < room && this.current < this.segments.length) {
      const seg = this.segments[this.current]!;
      const n = Math.min(room - filled, seg.length - this.offsetInCurrent);
      emit(seg, this.offsetInCurrent, n, filled);
      filled += n;
      this.offsetInCurrent += n;
      if (this.offsetInCurrent === seg.length) {
        this.segments[this.current] = undefined as unknown as StreamSegment; // let big generators go
        this.current++;
        this.offsetInCurrent = 0;
      }
    }
    this.produced += filled;
    return filled;
  }

  /** initial_bytes and dirty_bytes given how much the caller consumed. */
  precopyCounts(consumed: number): { initial: number; dirty: number } {
    return {
      initial: Math.max(0, this.initialEnd - consumed),
      dirty: Math.max(0, this.available - Math.max(consumed, this.initialEnd)),
    };
  }
}

export class SavingSession {
  readonly kind = 'saving';
  ended = false;
  callerFdOpen = false;
  /** STOP_COPY with the enomsg-in-stop-copy quirk answers ENOMSG once at the end. */
  stopCopyEnomsgGiven = false;

  constructor(
    readonly stream: OutgoingStream,
    readonly pipe: DataPipe,
    readonly behaviour: SavingBehaviour,
  ) {
    stream.onGrow = () => pipe.wake();
  }

  consumed(): number {
    return this.pipe.isClosed ? this.stream.produced : this.pipe.bytesReadByCaller();
  }

  /** No more bytes will come for now: produced everything appended and the caller drained the pipe. */
  atEnd(): boolean {
    return this.pipe.pendingBytes() === 0 && this.stream.produced >= Math.min(this.stream.available, this.stream.limit);
  }

  end(): void {
    this.ended = true;
    this.pipe.close();
  }
}

export class ResumingSession {
  readonly kind = 'resuming';
  ended = false;
  callerFdOpen = false;
  received = 0;
  /** The first error a write met; later writes and RESUMING → STOP answer with it. */
  failure: string | undefined;

  constructor(
    readonly pipe: DataPipe,
    readonly behaviour: ResumingBehaviour,
  ) {}

  end(): void {
    this.ended = true;
    this.pipe.close();
  }
}

export type DataSession = SavingSession | ResumingSession;
