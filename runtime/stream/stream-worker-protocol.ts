/** Messages between the stream and its worker (stream-worker.ts). */
import type { CopyEnd } from './copy-loops.js';
import type { PeerIo, ReadCounters } from './fd-io.js';

export type CommandToStreamWorker =
  /** A new transfer: fresh checksum (or none); `cancel` is the shared flag that stops it (limits.ts). */
  | { type: 'start'; checksum: boolean; cancel?: Int32Array | null }
  /** save: copy up to `limit` bytes from the device's fd, or until the end or nothing-for-now, to a peer. */
  | { type: 'copy'; from: number; to: PeerIo; limit: number }
  /** load: copy a peer to the device's fd until its end, holding back the last `hold` bytes. */
  | { type: 'copy-holding-tail'; from: PeerIo; to: number; hold: number }
  | { type: 'digest' };

export type ReplyFromStreamWorker =
  | { type: 'progress'; bytes: number }
  | { type: 'done'; bytes: number; end: CopyEnd; io: ReadCounters }
  | { type: 'held-done'; body: number; tail: Uint8Array; io: ReadCounters }
  | { type: 'digest'; checksum: bigint | null }
  | { type: 'io-failed'; call: 'read' | 'write'; errno: number; io: ReadCounters }
  | { type: 'failed'; message: string };
