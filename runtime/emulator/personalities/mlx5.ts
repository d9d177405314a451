/**
 * After mlx5_vfio_pci: STOP_COPY, P2P and PRE_COPY; DMA logging with a page bitmap; ENOMSG at the temporary
 * end of pre-copy data. The stream is a list of records, each with a 16-byte little-endian header
 * {u64 size, u32 flags (bit 0: optional), u32 tag (0 device image, 1 STOP_COPY size hint)}.
 *
 * Our tag-0 payloads start with a 32-byte descriptor {u32 magic, u32 kind, u32 seed, u32 0, u64 content
 * length, u64 generation} followed by generated content (see generated-content.ts), so the destination can
 * check every byte as it arrives and keep only what it learned. The device's logical state is
 * (seed, state size, generation); the generation grows each time the running device dirties data.
 */
import { VfioDeviceFlags, VfioMigrationFlags } from '../../../generated/constants.js';
import { bytesSegment, type OutgoingStream, type StreamSegment } from '../data-session.js';
import { GeneratedContent } from './generated-content.js';
import type { PersonalityModel, ResumeFailure, ResumingBehaviour } from './personality.js';
import { digestOf } from './state-digest.js';

export const MLX5_RECORD_HEADER_BYTES = 16;
export const MLX5_DESCRIPTOR_BYTES = 32;
export const MLX5_TAG_IMAGE = 0;
export const MLX5_TAG_SIZE_HINT = 1;
export const MLX5_FLAG_OPTIONAL = 1;
const MAGIC = 0x3558_4c4d; // "MLX5"
const Kind = { image: 1, delta: 2, reinit: 3, final: 4 } as const;
type KindName = keyof typeof Kind;

/** Dirty data appended per pre-copy query once the initial image is read: shrinks so pre-copy converges. */
const DELTA_BYTES = [256 << 10, 64 << 10, 16 << 10];
const REINIT_BYTES = 64 << 10;
const FINAL_BYTES = 4096;
const SIZE_HINT_RECORD = MLX5_RECORD_HEADER_BYTES + 8;

function contentSalt(kind: number, generation: number): bigint {
  return (BigInt(kind) << 56n) ^ (BigInt(generation) << 32n);
}

function recordHeader(size: number, flags: number, tag: number): Buffer {
  const h = Buffer.alloc(MLX5_RECORD_HEADER_BYTES);
  h.writeBigUInt64LE(BigInt(size), 0);
  h.writeUInt32LE(flags, 8);
  h.writeUInt32LE(tag, 12);
  return h;
}

/** One tag-0 record: header + descriptor + generated content, produced on demand. */
function stateRecord(kind: KindName, seed: number, length: number, generation: number): StreamSegment[] {
  const desc = Buffer.alloc(MLX5_DESCRIPTOR_BYTES);
  desc.writeUInt32LE(MAGIC, 0);
  desc.writeUInt32LE(Kind[kind], 4);
  desc.writeUInt32LE(seed >>> 0, 8);
  desc.writeBigUInt64LE(BigInt(length), 16);
  desc.writeBigUInt64LE(BigInt(generation), 24);
  const content = new GeneratedContent(seed, contentSalt(Kind[kind], generation));
  return [
    bytesSegment(Buffer.concat([recordHeader(MLX5_DESCRIPTOR_BYTES + length, 0, MLX5_TAG_IMAGE), desc])),
    { length, fill: (into, at, n) => content.fill(into, at, n), gather: (at, n, sink) => content.gather(at, n, sink) },
  ];
}

const recordBytes = (length: number) => MLX5_RECORD_HEADER_BYTES + MLX5_DESCRIPTOR_BYTES + length;

export function createMlx5(seed: number, stateSize: number): PersonalityModel {
  const state = { seed: seed >>> 0, size: stateSize, generation: 0 };

  function appendRecord(stream: OutgoingStream, kind: KindName, length: number, initial = false): void {
    const generation = kind === 'image' ? state.generation : ++state.generation;
    const [head, body] = stateRecord(kind, state.seed, length, generation);
    stream.append(head!, { initial });
    stream.append(body!, { initial });
  }

  return {
    name: 'mlx5',
    migrationFlags: VfioMigrationFlags.STOP_COPY | VfioMigrationFlags.P2P | VfioMigrationFlags.PRE_COPY,
    dmaLogging: 'bitmap',
    precopyEnd: 'ENOMSG',
    deviceInfo: { flags: VfioDeviceFlags.PCI | VfioDeviceFlags.RESET, numRegions: 9, numIrqs: 5 },
    regions: [],
    regionRead: () => Buffer.alloc(0),
    regionWrite: () => {},
    stopCopyLength: () => BigInt(recordBytes(state.size) + SIZE_HINT_RECORD + recordBytes(FINAL_BYTES)),
    openSaving(stream, phase) {
      let deltas = 0;
      let reinitReported = false;
      const enterStopCopy = () => {
        const hint = Buffer.alloc(8);
        hint.writeBigUInt64LE(BigInt(recordBytes(FINAL_BYTES)));
        stream.append(bytesSegment(Buffer.concat([recordHeader(8, MLX5_FLAG_OPTIONAL, MLX5_TAG_SIZE_HINT), hint])));
        appendRecord(stream, 'final', FINAL_BYTES);
      };
      appendRecord(stream, 'image', state.size, phase === 'pre-copy');
      if (phase === 'stop-copy') enterStopCopy();
      return {
        enterStopCopy,
        onPrecopyQuery(stateName, optedIn, consumed) {
          // Like the driver, only PRE_COPY asks the firmware for new data; PRE_COPY_P2P reports what is known.
          if (stateName !== 'PRE_COPY' || consumed < stream.initialEnd) return false;
          if (optedIn && !reinitReported && consumed >= stream.available) {
            reinitReported = true;
            appendRecord(stream, 'reinit', REINIT_BYTES, true);
            return true;
          }
          if (deltas < DELTA_BYTES.length) appendRecord(stream, 'delta', DELTA_BYTES[deltas++]!);
          return false;
        },
      };
    },
    openResuming: () => mlx5Resuming(state),
    digest: () => digestOf('mlx5', `${state.seed}:${state.size}:${state.generation}`),
  };
}

/** Parses records as they arrive, checks every content byte, and loads (seed, size, generation) at the end. */
function mlx5Resuming(target: { seed: number; size: number; generation: number }): ResumingBehaviour {
  const header = Buffer.alloc(MLX5_RECORD_HEADER_BYTES);
  const desc = Buffer.alloc(MLX5_DESCRIPTOR_BYTES);
  let phase: 'header' | 'descriptor' | 'content' | 'skip' = 'header';
  let have = 0;
  let remaining = 0;
  let contentPos = 0;
  let content: GeneratedContent | undefined;
  let pending = { kind: 0, seed: 0, length: 0, generation: 0 };
  let learned: { seed: number; size: number; generation: number } | undefined;
  let sawAnything = false;
  const fault: ResumeFailure = { errno: 'EFAULT', stayInResuming: false };

  function recordDone(): void {
    if (pending.kind === Kind.image)
      learned = { seed: pending.seed, size: pending.length, generation: pending.generation };
    else if (learned) learned.generation = Math.max(learned.generation, pending.generation);
    phase = 'header';
    have = 0;
  }

  return {
    maxBytes: Infinity,
    failuresStick: true,
    rejectWith: fault,
    accept(chunk) {
      sawAnything = true;
      let i = 0;
      while (i < chunk.length) {
        if (phase === 'header' || phase === 'descriptor') {
          const into = phase === 'header' ? header : desc;
          const n = Math.min(into.length - have, chunk.length - i);
          chunk.copy(into, have, i, i + n);
          have += n;
          i += n;
          if (have < into.length) break;
          have = 0;
          if (phase === 'header') {
            remaining = Number(header.readBigUInt64LE(0));
            const flags = header.readUInt32LE(8);
            const tag = header.readUInt32LE(12);
            if (tag === MLX5_TAG_IMAGE) {
              if (remaining < MLX5_DESCRIPTOR_BYTES) return 'EFAULT';
              phase = 'descriptor';
            } else if (tag === MLX5_TAG_SIZE_HINT || flags & MLX5_FLAG_OPTIONAL) {
              phase = remaining > 0 ? 'skip' : 'header';
            } else return 'EOPNOTSUPP'; // a mandatory record this device does not know
          } else {
            if (desc.readUInt32LE(0) !== MAGIC) return 'EFAULT';
            pending = {
              kind: desc.readUInt32LE(4),
              seed: desc.readUInt32LE(8),
              length: Number(desc.readBigUInt64LE(16)),
              generation: Number(desc.readBigUInt64LE(24)),
            };
            if (pending.length !== remaining - MLX5_DESCRIPTOR_BYTES) return 'EFAULT';
            if (pending.kind !== Kind.image && !learned) return 'EFAULT';
            content = new GeneratedContent(pending.seed, contentSalt(pending.kind, pending.generation));
            contentPos = 0;
            remaining = pending.length;
            phase = 'content';
            if (remaining === 0) recordDone();
          }
        } else {
          const n = Math.min(remaining, chunk.length - i);
          if (phase === 'content' && !content!.matches(chunk.subarray(i, i + n), contentPos)) return 'EFAULT';
          contentPos += n;
          remaining -= n;
          i += n;
          if (remaining === 0) {
            if (phase === 'content') recordDone();
            else phase = 'header';
          }
        }
      }
      return undefined;
    },
    finish() {
      if (!sawAnything) return undefined;
      if (phase !== 'header' || have !== 0 || !learned) return fault; // a record was cut short
      Object.assign(target, learned);
      return undefined;
    },
  };
}
