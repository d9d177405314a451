/**
 * What a driver personality supplies to the shared device model: its capability flags, its stream format
 * (what a saving session offers, how a resuming session checks what arrives) and its device state.
 */
import type { Personality } from '../api.js';
import type { OutgoingStream } from '../data-session.js';

export interface RegionModel {
  index: number;
  size: number;
  flags: number;
}

export interface PersonalityModel {
  readonly name: Personality;
  /** vfio_device_feature_migration.flags; 0 for a device without migration ops (its migration features: ENOTTY). */
  readonly migrationFlags: number;
  /** DMA logging ops: none (ENOTTY), a stub that logs nothing, or a real page bitmap. */
  readonly dmaLogging: 'none' | 'stub' | 'bitmap';
  /** What a read at the temporary end of pre-copy data answers. */
  readonly precopyEnd: 'ENOMSG' | 'EOF';
  readonly deviceInfo: { flags: number; numRegions: number; numIrqs: number };
  readonly regions: readonly RegionModel[];
  regionRead(index: number, offset: number, length: number): Buffer;
  regionWrite(index: number, offset: number, data: Buffer): void;
  /** MIG_DATA_SIZE: bytes a STOP_COPY would produce now. */
  stopCopyLength(): bigint;
  /** A new saving session: the stream starts with the pre-copy data or, for STOP_COPY, everything. */
  openSaving(stream: OutgoingStream, phase: 'pre-copy' | 'stop-copy'): SavingBehaviour;
  openResuming(): ResumingBehaviour;
  /** Digest of the device's logical state (equal on a source and a destination that took its stream). */
  digest(): string;
}

export interface SavingBehaviour {
  /** PRE_COPY* → STOP_COPY on the same fd: the device stops; append what is left. */
  enterStopCopy(): void;
  /**
   * The caller asks PRECOPY_INFO in `state`. The device may have dirtied more data (append it) or, after the
   * v2 opt-in, restart its initial data (return true to report REINIT).
   */
  onPrecopyQuery(state: string, optedIn: boolean, consumed: number): boolean;
}

/** How a failed resume leaves the device: mtty stays in RESUMING (and refuses to leave it), others go ERROR. */
export interface ResumeFailure {
  errno: string;
  stayInResuming: boolean;
}

export interface ResumingBehaviour {
  /** Most bytes the device takes (more → ENOMEM); Infinity when unbounded. */
  readonly maxBytes: number;
  /**
   * Whether a write the device refused poisons the session (later writes and RESUMING → STOP answer the same
   * errno; mlx5, hisi_acc). mtty's refusal does not stick: it counts the refused bytes and judges only their
   * length when leaving RESUMING.
   */
  readonly failuresStick: boolean;
  /** Takes the next written bytes; returns an errno name to fail that write. */
  accept(chunk: Buffer): string | undefined;
  /** RESUMING → STOP: load what arrived into the device, or say why not. */
  finish(): ResumeFailure | undefined;
  /** How the device fails when it rejects a stream it cannot fault (resume-rejects quirk). */
  readonly rejectWith: ResumeFailure;
}
