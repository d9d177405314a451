// The guests this test boots: what each needs (kernel, modules, devices) and how its results are judged.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildMtty } from './build-mtty.js';
import { fetchRouteA, fetchRouteB } from './fetch.js';
import type { Check, GuestResults } from './guest/check.js';
import { buildInitramfs, type GuestPlan } from './initramfs.js';
import { bootableKernel } from './kernel-image.js';
import { modulesInLoadOrder } from './modules.js';
import { bootGuest } from './qemu.js';
import { runsRoot } from './paths.js';

export type Suite = 'mtty' | 'edu' | 'hang';

export interface SuiteRun {
  suite: Suite;
  checks: Check[];
  /** Download, build and initramfs time (near zero when cached). */
  prepareSeconds: number;
  bootSeconds: number;
}

const mdevUuids = ['11111111-2222-3333-4444-000000000001', '11111111-2222-3333-4444-000000000002'];
const mttyType = '/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/create';
const eduVendorDevice = ['0x1234', '0x11e8'];

interface PreparedGuest {
  kernel: string;
  initramfs: string;
  devices: string[];
}

function prepareMttyGuest(entryScript: string): PreparedGuest {
  const files = fetchRouteA();
  const mtty = buildMtty(files);
  const wanted = ['netfs', '9pnet', '9pnet_virtio', '9p', 'vfio', 'vfio_iommu_type1', 'mdev', 'mtty'];
  const plan: GuestPlan = {
    name: files.release,
    modules: modulesInLoadOrder(files.modulesDir, wanted, new Map([['mtty', mtty]])),
    // Both ends must be the same type: the resume header carries the port count.
    deviceSetup: mdevUuids.map((uuid) => `echo ${uuid} > ${mttyType}`).join('\n'),
    nodePath: process.execPath,
    entryScript,
  };
  return { kernel: bootableKernel(files.vmlinuz), initramfs: buildInitramfs(plan), devices: [] };
}

function prepareEduGuest(entryScript: string): PreparedGuest {
  const files = fetchRouteB();
  const wanted = ['virtio_pci', 'netfs', '9pnet', '9pnet_virtio', '9p', 'vfio', 'vfio_iommu_type1', 'vfio_pci'];
  const [vendor, device] = eduVendorDevice;
  const plan: GuestPlan = {
    name: files.release,
    modules: modulesInLoadOrder(files.modulesDir, wanted),
    deviceSetup: [
      'for dev in /sys/bus/pci/devices/*; do',
      `  if [ "$(cat $dev/vendor)" = ${vendor} ] && [ "$(cat $dev/device)" = ${device} ]; then`,
      '    echo vfio-pci > $dev/driver_override; echo ${dev##*/} > /sys/bus/pci/drivers_probe',
      '  fi',
      'done',
    ].join('\n'),
    nodePath: process.execPath,
    entryScript,
  };
  return {
    kernel: bootableKernel(files.vmlinuz),
    initramfs: buildInitramfs(plan),
    // One edu on the root bus (no reset method) and one behind a PCIe root port (bus reset works).
    devices: [
      ...['-device', 'intel-iommu', '-device', 'edu'],
      ...['-device', 'pcie-root-port,id=rp1,bus=pcie.0,chassis=1', '-device', 'edu,bus=rp1'],
    ],
  };
}

function failure(id: string, expected: string, observed: string): Check {
  return { id, expected, observed, pass: false };
}

function consoleTail(console: string): string {
  return console.trim().split('\n').slice(-8).join(' | ');
}

export async function runSuite(suite: Suite, entryScript: string): Promise<SuiteRun> {
  const preparing = Date.now();
  const guest = suite === 'edu' ? prepareEduGuest(entryScript) : prepareMttyGuest(entryScript);
  const prepareSeconds = (Date.now() - preparing) / 1000;
  const share = join(runsRoot, suite);
  mkdirSync(share, { recursive: true });
  const resultsFile = join(share, 'results.json');
  rmSync(resultsFile, { force: true });
  const append = [`vfiotest_suite=${suite}`, `vfiotest_share=${share}`];
  // The hang check wants the soft-lockup report (and its backtrace) on the console within seconds.
  append.push(...(suite === 'hang' ? ['watchdog_thresh=1', 'loglevel=7'] : ['quiet', 'loglevel=3']));
  if (suite === 'edu') append.push('intel_iommu=on');
  const outcome = await bootGuest({
    kernel: guest.kernel,
    initramfs: guest.initramfs,
    append,
    share,
    cpus: suite === 'hang' ? 2 : 1,
    devices: guest.devices,
    timeoutSeconds: suite === 'hang' ? 90 : 60,
    consoleLog: join(share, 'console.log'),
  });
  const checks: Check[] = [];
  if (outcome.timedOut) {
    checks.push(failure(`${suite}.guest`, 'guest powers off', `killed after ${outcome.seconds.toFixed(0)} s`));
  }
  if (!existsSync(resultsFile)) {
    checks.push(failure(`${suite}.results`, 'results.json written', `none; console: ${consoleTail(outcome.console)}`));
  } else {
    const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as GuestResults;
    checks.push(...results.checks);
    if (results.error) checks.push(failure(`${suite}.guest-error`, 'no exception', results.error.split('\n')[0] ?? ''));
  }
  if (suite === 'hang') {
    const lockup = /soft lockup/.test(outcome.console);
    const where = /vfio_mig_get_next_state/.test(outcome.console);
    checks.push({
      id: 'hang.console-soft-lockup',
      expected: 'soft lockup in vfio_mig_get_next_state',
      observed: `${lockup ? 'soft lockup' : 'no soft lockup'}${where ? ' in vfio_mig_get_next_state' : ''}`,
      pass: lockup && where,
    });
    checks.push({
      id: 'hang.guest-torn-down',
      expected: 'powered off',
      observed: outcome.timedOut ? 'killed by the host timeout' : 'powered off',
      pass: !outcome.timedOut,
    });
  }
  return { suite, checks, prepareSeconds, bootSeconds: outcome.seconds };
}
