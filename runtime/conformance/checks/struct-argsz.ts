/**
 * `struct.argsz`: the rule the generator derives from every extensible struct's `argsz` field (the
 * validators name it). The kernel copies back at most `argsz` bytes and raises `argsz` only to say how much
 * room a capability chain needs (with the CAPS flag). Judged on VFIO_DEVICE_GET_INFO, which every device has.
 */
import { VfioDeviceInfoLayout } from '../../../generated/codecs.js';
import type { SpecRule } from '../spec-data.js';
import type { Check } from './check.js';

const VFIO_DEVICE_GET_INFO = 0x3b6b;
const VFIO_DEVICE_FLAGS_CAPS = 1 << 7;

export const structArgszRule: SpecRule = {
  id: 'struct.argsz',
  since: '3.6',
  strength: 'must',
  kind: 'behaviour',
  doc: 'Derived from the structs: a call writes back at most argsz bytes, and raises argsz only to announce a capability chain (CAPS flag).',
};

export const structArgsz: Check = {
  rule: 'struct.argsz',
  run(ctx) {
    const minsz = VfioDeviceInfoLayout.minsz;
    const buf = Buffer.alloc(VfioDeviceInfoLayout.size + 16, 0xa5);
    buf.writeUInt32LE(minsz, 0);
    buf.fill(0, 4, minsz);
    const r = ctx.raw.ioctl(ctx.raw.fd, VFIO_DEVICE_GET_INFO, buf, `VFIO_DEVICE_GET_INFO argsz=${minsz}`);
    if (!ctx.expectOutcome(`VFIO_DEVICE_GET_INFO with argsz ${minsz}`, 'success', r)) return;
    const beyond = buf.subarray(minsz);
    ctx.expect(
      `bytes past argsz ${minsz} after VFIO_DEVICE_GET_INFO`,
      'untouched',
      beyond.every((b) => b === 0xa5) ? 'untouched' : 'overwritten',
    );
    const argsz = buf.readUInt32LE(0);
    const caps = (buf.readUInt32LE(4) & VFIO_DEVICE_FLAGS_CAPS) !== 0;
    if (argsz !== minsz && !caps) ctx.fail('argsz written back', `${minsz} (no CAPS flag)`, String(argsz));
  },
};
