/**
 * VFIO_DEVICE_FEATURE calls: one ioctl multiplexing GET/SET/PROBE of every feature. The 8-byte header is
 * written with the generated codec, the payload with its own codec at offset 8, into one reused buffer.
 */
import { encodeVfioDeviceFeature } from '../../generated/codecs.js';
import { FEATURES, type FeatureName } from '../../generated/constants.js';
import { featureArgsz, featureFlags } from '../../generated/validators.js';
import { vfio } from './ioctls.js';

export type FeatureOp = 'GET' | 'SET' | 'PROBE' | 'PROBE_GET' | 'PROBE_SET';

/** Large enough for every fixed-size feature payload the spec defines (dma_logging_report is 32). */
const MAX_PAYLOAD = 64;

export class FeatureCaller {
  readonly buf = Buffer.alloc(8 + MAX_PAYLOAD);
  readonly view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  /** The payload as a DataView starting at the payload's first byte (offset 0). */
  readonly payload = new DataView(this.buf.buffer, this.buf.byteOffset + 8, MAX_PAYLOAD);
  /** Counts every ioctl this caller issued, so tests can prove a refusal made no syscall. */
  calls = 0;

  constructor(private readonly fd: () => number) {}

  /**
   * Issue one feature call. `fillPayload` writes the payload (the buffer is zeroed first); after it returns
   * the payload view holds what the kernel wrote back. Returns 0 on success or the errno.
   */
  call(feature: FeatureName, op: FeatureOp, fillPayload?: (payload: DataView) => void, payloadSize?: number): number {
    this.buf.fill(0);
    const argsz = payloadSize === undefined ? featureArgsz(feature, op) : 8 + payloadSize;
    encodeVfioDeviceFeature({ argsz, flags: featureFlags(feature, op), data: [] }, this.view, 0);
    fillPayload?.(this.payload);
    this.calls++;
    const r = vfio.VFIO_DEVICE_FEATURE(this.fd(), this.buf);
    return r.ok ? 0 : r.errno;
  }
}

/** Human label of a feature call, e.g. `VFIO_DEVICE_FEATURE GET MIG_DEVICE_STATE`. */
export function featureLabel(feature: FeatureName, op: FeatureOp, detail = ''): string {
  return `VFIO_DEVICE_FEATURE ${op.replace('_', '|')} ${FEATURES[feature].short}${detail}`;
}
