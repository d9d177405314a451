// What a kernel release does for the blocked request and for MIG_PRECOPY_INFOv2, from the spec's version data
// (ir.kernelFixes from spec/vfio/kernel-fixes.ts, feature `since`) — the answers conformance and the real-kernel
// routes choose their expectations by. The releases and what they must answer are facts of the Debian kernels the
// routes boot (uname -r / -v as their guests print them; test/kernel/debian-kernels.ts pins the versions).
import { describe, expect, it } from 'vitest';
import { generatedSpecData, type SpecData } from '../../runtime/conformance/spec-data.js';
import {
  blockedRequest,
  featureAvailable,
  fixStatus,
  kernelRelease,
  parseVersion,
  type KernelVersion,
} from '../../runtime/kernel-release.js';

const plain = generatedSpecData();
const withFixes = plain;
const fix = plain.kernelFixes!.find((k) => k.commit === 'a26b499b757c')!;
const v = (text: string) => parseVersion(text) as KernelVersion;

describe('kernel release', () => {
  it('reads the upstream version from uname -r, or from a Debian build string when -r hides the patch level', () => {
    expect(kernelRelease('6.12.95+deb12-amd64', '#1 SMP PREEMPT_DYNAMIC Debian 6.12.95-1~bpo12+1').version).toEqual({
      major: 6,
      minor: 12,
      patch: 95,
    });
    const bookworm = kernelRelease('6.1.0-50-amd64', '#1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1 (2026-10-02)');
    expect(bookworm).toEqual({ release: '6.1.0-50-amd64', version: { major: 6, minor: 1, patch: 176 }, from: 'build' });
    expect(kernelRelease('7.3.4', '#1 Tue Dec 1 12:00:00 UTC 2026').version).toEqual({ major: 7, minor: 3, patch: 4 });
    expect(kernelRelease('7.2.0-rc1', null).version).toEqual({ major: 7, minor: 2, patch: 0 });
    expect(kernelRelease('custom', null)).toEqual({ release: 'custom', version: null, from: null });
  });

  it('a release is fixed at or after the mainline release, or in a listed stable series from its version on', () => {
    expect(fixStatus(fix, v('6.12.95'))).toBe('unfixed');
    expect(fixStatus(fix, v('6.12.96'))).toBe('fixed');
    expect(fixStatus(fix, v('6.12.117'))).toBe('fixed');
    expect(fixStatus(fix, v('6.6.100'))).toBe('unfixed');
    expect(fixStatus(fix, v('7.1.9'))).toBe('unfixed');
    expect(fixStatus(fix, v('7.2.0'))).toBe('fixed');
    expect(fixStatus(fix, v('7.3.4'))).toBe('fixed');
    // PRE_COPY (and with it the blocked arcs) arrived in 6.2.
    expect(fixStatus(fix, v('6.1.176'))).toBe('unaffected');
  });

  it('the blocked request hangs up to 6.12.95 and is EINVAL on 6.12.117 and 7.3.4', () => {
    const answer = (release: string) =>
      blockedRequest(withFixes, kernelRelease(release, null), 'STOP_COPY', 'PRE_COPY');
    expect(answer('6.12.95+deb12-amd64')).toMatchObject({ answer: 'hang', status: 'unfixed' });
    expect(answer('6.12.117+deb13-amd64')).toMatchObject({ answer: 'EINVAL', status: 'fixed' });
    expect(answer('7.3.4+deb13-amd64')).toMatchObject({ answer: 'EINVAL', status: 'fixed' });
    expect(blockedRequest(withFixes, kernelRelease('6.12.95', null), 'STOP_COPY', 'PRE_COPY_P2P').answer).toBe('hang');
  });

  it('without version data in the spec, the answer is the spec errno and says so', () => {
    // An IR from before the version data (the field is absent, the bans name no fix).
    const { kernelFixes: _, ...older } = plain;
    const bare: SpecData = {
      ...older,
      fsm: { ...plain.fsm, forbidden: plain.fsm.forbidden.map(({ from, to, errno }) => ({ from, to, errno })) },
    };
    expect(blockedRequest(bare, kernelRelease('6.12.95', null), 'STOP_COPY', 'PRE_COPY')).toEqual({
      answer: 'EINVAL',
      status: 'no-data',
    });
    expect(() => blockedRequest(bare, kernelRelease('6.12.95', null), 'RUNNING', 'STOP')).toThrow(/not a forbidden/);
  });

  it('MIG_PRECOPY_INFOv2 exists from 7.1 on (its since), and is unknown for an unknown release', () => {
    const has = (release: string) => featureAvailable(plain, kernelRelease(release, null), 'MIG_PRECOPY_INFOv2');
    expect(has('6.12.117+deb13-amd64')).toBe(false);
    expect(has('7.0.12')).toBe(false);
    expect(has('7.1.0')).toBe(true);
    expect(has('7.3.4+deb13-amd64')).toBe(true);
    expect(has('custom')).toBeNull();
  });
});
