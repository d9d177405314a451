/**
 * conform --format ktap (KTAP version 1 as kselftests print it), the access-path rules of a device that must be
 * closed while they run (as a real one: the kernel binds a device through one cdev open at a time), known
 * failures picked for a Debian kernel, and the expectations that depend on the kernel release (the blocked
 * request) taken from the spec's version data. The emulator stands in for the device.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';
import {
  formatKtap,
  generatedSpecData,
  knownFailuresPathsForDevice,
  runConformance,
  type Report,
  type SpecData,
} from '../../runtime/conformance/index.js';
import { summarize, type RuleResult } from '../../runtime/conformance/verdict.js';
import { startEmulator } from '../../runtime/emulator/index.js';
import type { EmulatorHandle } from '../../runtime/emulator/api.js';
import { openDevice, type Device } from '../../runtime/index.js';
import { kernelRelease } from '../../runtime/kernel-release.js';
import { parseKtap } from '../kernel/guest/ktap.js';

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  const err = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    return { code: await main(args), out: lines.join('\n') };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

const result = (rule: string, status: RuleResult['status'], extra: Partial<RuleResult> = {}): RuleResult => ({
  rule,
  kind: 'errno',
  strength: 'must',
  since: '6.2',
  status,
  mismatches: [],
  notes: [],
  calls: 1,
  ms: 1,
  ...extra,
});

describe('KTAP', () => {
  it('one line per status, mismatches as # lines before their result, kselftest totals', () => {
    const results = [
      result('a.pass', 'pass'),
      result('b.fail', 'fail', {
        mismatches: [{ what: 'SET STOP_COPY → PRE_COPY', expected: 'EINVAL', observed: 'success', calls: [] }],
      }),
      result('c.warn', 'warn', {
        strength: 'should',
        mismatches: [{ what: 'end of data', expected: 'ENOMSG', observed: 'EOF', calls: [] }],
      }),
      result('d.xfail', 'expected-fail', { why: 'mtty answers read() == 0 # not ENOMSG' }),
      result('e.stale', 'stale', { why: 'listed in mtty.txt but passed' }),
      result('f.skip', 'skip', { why: 'the device has no PRE_COPY' }),
      result('g.none', 'no-check', { why: 'no check for this rule yet' }),
    ];
    const report: Report = {
      device: 'emulated:mtty',
      spec: 'generated/ir.json',
      capabilities: 'STOP_COPY+P2P+PRE_COPY',
      knownFailures: 'mtty.txt',
      results,
      summary: summarize(results),
      ms: 5,
    };
    expect(formatKtap(report, ['kernel 7.3.4 (7.3.4+deb13-amd64)']).split('\n')).toEqual([
      'KTAP version 1',
      '1..7',
      '# vfio-uapi conform emulated:mtty',
      '# judged by generated/ir.json; capabilities STOP_COPY+P2P+PRE_COPY',
      '# known failures: mtty.txt',
      '# kernel 7.3.4 (7.3.4+deb13-amd64)',
      'ok 1 a.pass',
      '# b.fail: SET STOP_COPY → PRE_COPY: expected EINVAL, observed success',
      'not ok 2 b.fail',
      '# WARN (should) c.warn: end of data: expected ENOMSG, observed EOF',
      'ok 3 c.warn',
      // A `#` inside a reason would start a second directive: it is spelled out.
      'ok 4 d.xfail # XFAIL mtty answers read() == 0 no. not ENOMSG',
      '# e.stale: listed in mtty.txt but passed',
      'not ok 5 e.stale',
      'ok 6 f.skip # SKIP the device has no PRE_COPY',
      'ok 7 g.none # SKIP no check for this rule yet',
      '# Totals: pass:2 fail:1 xfail:1 xpass:1 skip:2 error:0',
    ]);
  });

  it('conform --format ktap prints what a KTAP reader takes: every rule once, known failures as XFAIL', async () => {
    const { code, out } = await cli(['conform', 'emulated:mtty', '--known-failures', 'auto', '--format', 'ktap']);
    expect(code).toBe(0);
    const ktap = parseKtap(out);
    expect(ktap.problems).toEqual([]);
    const rules = Object.keys(generatedSpecData().rules).length + 1; // + struct.argsz, derived by the generator
    expect(ktap.plan).toBe(rules);
    const xfail = ktap.results.filter((r) => r.directive === 'XFAIL').map((r) => r.name);
    expect(xfail.sort()).toEqual(['dma_logging.start.once', 'stream.enomsg']);
    expect(ktap.results.every((r) => r.ok)).toBe(true);
    expect(ktap.totals).toMatchObject({ fail: 0, xpass: 0, xfail: 2, error: 0 });
    expect(ktap.totals!.pass! + ktap.totals!.skip! + 2).toBe(rules);
  }, 60_000);

  it('a format it does not know, or two that contradict, is bad usage (exit 2)', async () => {
    expect((await cli(['conform', 'emulated:mtty', '--format', 'tap13'])).code).toBe(2);
    expect((await cli(['conform', 'emulated:mtty', '--json', '--format', 'ktap'])).code).toBe(2);
  });
});

describe('a device that must be closed while its access nodes are opened afresh', () => {
  let emu: EmulatorHandle;
  let device: Device | null = null;
  let spec: { group: string; name: string; container: string };
  beforeAll(async () => {
    emu = await startEmulator({ devices: [{ personality: 'mtty', stateSize: 1 << 16 }] });
    const d = emu.devices[0]!;
    spec = { group: d.groupPath, name: d.groupDeviceName, container: emu.containerPath };
    device = await openDevice(spec);
  });
  afterAll(async () => {
    await device?.close();
    await emu.stop();
  });

  it('judges the access-path rules first with the device closed, the rest on the reopened device, in spec order', async () => {
    const events: string[] = [];
    const d = emu.devices[0]!;
    const report = await runConformance({
      deviceFd: device!.fd,
      device: 'emulated mtty by its group',
      spec: generatedSpecData(),
      only: ['group', 'container', 'cdev', 'iommufd', 'mig.state.get'],
      options: { emulated: true },
      access: { group: d.groupPath, container: emu.containerPath, cdev: d.cdevPath, iommufd: emu.iommufdPath },
      exclusive: {
        release: async () => {
          events.push('release');
          await device!.close();
          device = null;
        },
        reopen: async () => {
          events.push('reopen');
          device = await openDevice(spec);
          return device.fd;
        },
      },
      onResult: (r) => events.push(r.rule),
    });
    expect(events.slice(0, 2)).toEqual(['release', 'reopen']);
    const order = Object.keys(generatedSpecData().rules).filter((id) =>
      /^(group|container|cdev|iommufd)\.|^mig\.state\.get$/.test(id),
    );
    expect(report.results.map((r) => r.rule)).toEqual(order);
    expect(events.slice(2)).toEqual(order);
    expect(report.results.filter((r) => r.status !== 'pass').map((r) => `${r.rule} ${r.status} ${r.why}`)).toEqual([]);
  }, 60_000);

  it('names the node a kernel lacks when it skips a rule for it', async () => {
    const d = emu.devices[0]!;
    const report = await runConformance({
      deviceFd: device!.fd,
      device: 'emulated mtty by its group',
      spec: generatedSpecData(),
      only: ['cdev', 'iommufd'],
      options: { emulated: true },
      access: {
        group: d.groupPath,
        container: emu.containerPath,
        absent: {
          cdev: 'this kernel has no /dev/vfio/devices/* (CONFIG_VFIO_DEVICE_CDEV is off)',
          iommufd: 'no /dev/iommu',
        },
      },
    });
    expect(report.results.map((r) => `${r.rule}: ${r.status} ${r.why}`)).toEqual([
      'cdev.unbound: skip this kernel has no /dev/vfio/devices/* (CONFIG_VFIO_DEVICE_CDEV is off)',
      'cdev.bind: skip this kernel has no /dev/vfio/devices/* (CONFIG_VFIO_DEVICE_CDEV is off)',
      'cdev.attach: skip this kernel has no /dev/vfio/devices/* (CONFIG_VFIO_DEVICE_CDEV is off)',
      'iommufd.trailing: skip no /dev/iommu',
      'iommufd.ioas_alloc.flags: skip no /dev/iommu',
    ]);
  });

  it('does not send the blocked request to a kernel the version data says never returns from it', async () => {
    const withFixes: SpecData = generatedSpecData();
    const judge = async (release: string, withForbidden: boolean) =>
      (
        await runConformance({
          deviceFd: device!.fd,
          device: 'mtty',
          spec: withFixes,
          only: ['mig.state.set.forbidden'],
          options: { emulated: false, withForbidden, kernel: kernelRelease(release, null) },
        })
      ).results[0]!;
    const old = await judge('6.12.95+deb12-amd64', true);
    expect(old.status).toBe('skip');
    expect(old.why).toMatch(/^Linux 6\.12\.95 \(6\.12\.95\+deb12-amd64\) never returns from STOP_COPY → PRE_COPY/);
    expect(old.why).toMatch(/fixed in 7\.2 and 6\.12\.96 by a26b499b757c/);
    const fixed = await judge('6.12.117+deb13-amd64', false);
    expect(fixed.status).toBe('skip');
    expect(fixed.why).toMatch(/answers them with EINVAL .*; pass --with-forbidden to issue them$/);
  });
});

describe('known failures for a kernel', () => {
  it('a Debian kernel adds what its builds break; another kernel and the emulator do not', () => {
    const debian = '#1 SMP PREEMPT_DYNAMIC Debian 6.12.95-1~bpo12+1 (2026-05-01)';
    expect(knownFailuresPathsForDevice('/dev/vfio/devices/vfio0', debian).map((p) => p.split('/').pop())).toEqual([
      'debian-kernel.txt',
    ]);
    expect(knownFailuresPathsForDevice('/dev/vfio/devices/vfio0', '#1 Tue Dec 1 2026')).toEqual([]);
    expect(knownFailuresPathsForDevice('emulated:mtty', debian).map((p) => p.split('/').pop())).toEqual([
      'emulated-mtty.txt',
    ]);
  });
});
