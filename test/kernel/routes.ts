// The guests this test boots: which kernel, which devices and access path, and how their results are judged.
//
//   6.1        Debian bookworm 6.1.176        QEMU's edu on vfio-pci: the VFIO core, no migration driver
//   6.12.95    bookworm-backports 6.12.95     mtty (built out of tree), group path; the blocked request hangs
//   6.12.117   trixie 6.12.117                mtty, group path; the blocked request answers EINVAL (6.12.96 fix)
//   7.3.4      trixie-backports 7.3.4         mtty, group path; MIG_PRECOPY_INFOv2 (feature 12, since 7.1)
//   cdev       7.3.4 built here (cdev-kernel) mtty built in, cdev + iommufd path, DMA logging with iova_bitmap
//   hang-X     kernel X, 2 vCPUs              opt-in (--with-hang): the blocked request issued unguarded on every
//                                             mtty kernel the spec's version data says never returns from it
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildMtty } from './build-mtty.js';
import { cdevKernel } from './cdev-kernel.js';
import { debianKernels, type DebianKernelName } from './debian-kernels.js';
import { fetchBuildableKernel, fetchKernel } from './fetch.js';
import type { Check, GuestResults } from './guest/check.js';
import { buildInitramfs, type GuestPlan } from './initramfs.js';
import { bootableKernel } from './kernel-image.js';
import { modulesInLoadOrder } from './modules.js';
import { bootGuest } from './qemu.js';
import { runsRoot } from './paths.js';
import { parseTimeline, type GuestTimeline } from './timeline.js';

export type Suite = 'mtty' | 'edu' | 'hang';
export type Access = 'group' | 'cdev';

export interface Route {
  /** Row name in the report and the value of --route. */
  name: string;
  /** One line: which kernel, which device, which path. */
  title: string;
  suite: Suite;
  access: Access;
  /** The upstream version the kernel is built from (the guest reads its own from uname). */
  upstream: string;
  prepare(entryScript: string, log: (line: string) => void): PreparedGuest;
}

export interface SuiteRun {
  route: Route;
  checks: Check[];
  /** The guest's conformance report in KTAP, when it ran one. */
  ktap?: string;
  /** Download, build and initramfs time (near zero when cached). */
  prepareSeconds: number;
  bootSeconds: number;
  /** What preparing did, for the report (e.g. "built the cdev kernel in 212 s"). */
  prepared: string[];
  /** Where the guest's time went, by its own clock (its console lines). */
  timeline: GuestTimeline;
}

interface PreparedGuest {
  kernel: string;
  /** The kernel's own .config (what it was built with), for facts the guest cannot read from a running kernel. */
  config: string;
  initramfs: string;
  devices: string[];
  cpus: number;
  notes: string[];
}

const mdevUuids = ['11111111-2222-3333-4444-000000000001', '11111111-2222-3333-4444-000000000002'];
const mttyType = '/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/create';
// Both ends must be the same type: the resume header carries the port count.
const mttySetup = mdevUuids.map((uuid) => `echo ${uuid} > ${mttyType}`).join('\n');
const eduVendorDevice = ['0x1234', '0x11e8'];

function debianMttyGuest(name: DebianKernelName, entryScript: string, cpus: number): PreparedGuest {
  const files = fetchBuildableKernel(name);
  const mtty = buildMtty(files);
  const wanted = ['netfs', '9pnet', '9pnet_virtio', '9p', 'vfio', 'vfio_iommu_type1', 'mdev', 'mtty'];
  const plan: GuestPlan = {
    dir: files.home,
    modules: modulesInLoadOrder(files.modulesDir, wanted, new Map([['mtty', mtty.module]])),
    deviceSetup: mttySetup,
    nodePath: process.execPath,
    entryScript,
  };
  const notes = [`mtty.ko built with ${mtty.compiler}${mtty.overrides.length ? ` (${mtty.overrides.join(' ')})` : ''}`];
  if (mtty.wrappedHelpers.length) notes.push(`through trixie's loader: ${mtty.wrappedHelpers.join(', ')}`);
  return {
    kernel: bootableKernel(files.vmlinuz),
    config: join(files.headersDir, '.config'),
    initramfs: buildInitramfs(plan),
    devices: [],
    cpus,
    notes,
  };
}

function eduGuest(entryScript: string): PreparedGuest {
  const files = fetchKernel('6.1');
  const wanted = ['virtio_pci', 'netfs', '9pnet', '9pnet_virtio', '9p', 'vfio', 'vfio_iommu_type1', 'vfio_pci'];
  const [vendor, device] = eduVendorDevice;
  const plan: GuestPlan = {
    dir: files.home,
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
    config: join(files.root, 'boot', `config-${files.kernel.release}`),
    initramfs: buildInitramfs(plan),
    // One edu on the root bus (no reset method) and one behind a PCIe root port (bus reset works).
    devices: [
      ...['-device', 'intel-iommu', '-device', 'edu'],
      ...['-device', 'pcie-root-port,id=rp1,bus=pcie.0,chassis=1', '-device', 'edu,bus=rp1'],
    ],
    cpus: 1,
    notes: [],
  };
}

function cdevGuest(entryScript: string, log: (line: string) => void): PreparedGuest {
  const kernel = cdevKernel(log);
  const plan: GuestPlan = {
    dir: join(kernel.vmlinux, '..'),
    modules: [],
    deviceSetup: mttySetup,
    nodePath: process.execPath,
    entryScript,
  };
  const notes = [
    kernel.built
      ? `built the cdev kernel (key ${kernel.key}) in ${kernel.buildSeconds.toFixed(0)} s with ${kernel.compiler}`
      : `cdev kernel from the cache (key ${kernel.key})`,
  ];
  return {
    kernel: kernel.vmlinux,
    config: kernel.config,
    initramfs: buildInitramfs(plan),
    devices: [],
    cpus: 1,
    notes,
  };
}

function debianMttyRoute(name: DebianKernelName & ('6.12.95' | '6.12.117' | '7.3.4')): Route {
  const kernel = debianKernels[name];
  return {
    name,
    title: `Debian ${kernel.version} (${kernel.suite}), mtty, group path`,
    suite: 'mtty',
    access: 'group',
    upstream: kernel.upstream,
    prepare: (entry) => debianMttyGuest(name, entry, 1),
  };
}

export const routes: Route[] = [
  {
    name: '6.1',
    title: `Debian ${debianKernels['6.1'].version} (bookworm), edu on vfio-pci`,
    suite: 'edu',
    access: 'group',
    upstream: debianKernels['6.1'].upstream,
    prepare: (entry) => eduGuest(entry),
  },
  debianMttyRoute('6.12.95'),
  debianMttyRoute('6.12.117'),
  debianMttyRoute('7.3.4'),
  {
    name: 'cdev',
    title: `Linux ${debianKernels['7.3.4'].upstream} built with IOMMUFD + VFIO_DEVICE_CDEV, mtty built in, cdev path`,
    suite: 'mtty',
    access: 'cdev',
    upstream: debianKernels['7.3.4'].upstream,
    prepare: (entry, log) => cdevGuest(entry, log),
  },
];

/** The opt-in guest that issues the blocked request unguarded on a kernel that never returns from it. */
export function hangRoute(name: '6.12.95' | '6.12.117' | '7.3.4'): Route {
  const base = debianMttyRoute(name);
  return {
    ...base,
    name: `hang-${name}`,
    title: `${base.title}: STOP_COPY → PRE_COPY unguarded, 2 vCPUs`,
    suite: 'hang',
    // The spinning request is pinned to the second CPU so init can still power off from the first.
    prepare: (entry) => debianMttyGuest(name, entry, 2),
  };
}

function failure(id: string, expected: string, observed: string): Check {
  return { id, expected, observed, pass: false };
}

function consoleTail(console: string): string {
  return console.trim().split('\n').slice(-8).join(' | ');
}

export async function runRoute(
  route: Route,
  entryScript: string,
  log: (line: string) => void = () => {},
): Promise<SuiteRun> {
  const preparing = Date.now();
  const guest = route.prepare(entryScript, log);
  const prepareSeconds = (Date.now() - preparing) / 1000;
  const share = join(runsRoot, route.name);
  mkdirSync(share, { recursive: true });
  const resultsFile = join(share, 'results.json');
  rmSync(resultsFile, { force: true });
  const append = [
    `vfiotest_suite=${route.suite}`,
    `vfiotest_share=${share}`,
    `vfiotest_access=${route.access}`,
    `vfiotest_route=${route.name}`,
  ];
  // The hang check wants the soft-lockup report (and its backtrace) on the console within seconds.
  append.push(...(route.suite === 'hang' ? ['watchdog_thresh=1', 'loglevel=7'] : ['quiet', 'loglevel=3']));
  // no_timer_check: under TCG on a busy host, 6.1.176 may find the IO-APIC timer "not working" through the
  // interrupt-remapped IO-APIC and panic (setup_IO_APIC → panic_if_irq_remap); the timer does work.
  if (route.suite === 'edu') append.push('intel_iommu=on', 'no_timer_check');
  // DMA logging REPORT needs iova_bitmap, built only with CONFIG_IOMMUFD_DRIVER: the guest expects by the config.
  const config = readFileSync(guest.config, 'utf8');
  append.push(`vfiotest_iommufd_driver=${/^CONFIG_IOMMUFD_DRIVER=y$/m.test(config) ? 'y' : 'n'}`);
  const outcome = await bootGuest({
    kernel: guest.kernel,
    initramfs: guest.initramfs,
    append,
    share,
    cpus: guest.cpus,
    devices: guest.devices,
    timeoutSeconds: route.suite === 'hang' ? 90 : 180,
    consoleLog: join(share, 'console.log'),
  });
  const checks: Check[] = [];
  let ktap: string | undefined;
  if (outcome.timedOut) {
    checks.push(failure('guest.powered-off', 'guest powers off', `killed after ${outcome.seconds.toFixed(0)} s`));
  }
  if (!existsSync(resultsFile)) {
    checks.push(failure('guest.results', 'results.json written', `none; console: ${consoleTail(outcome.console)}`));
  } else {
    const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as GuestResults;
    checks.push(...results.checks);
    ktap = results.ktap;
    if (results.error) checks.push(failure('guest.error', 'no exception', results.error.split('\n')[0] ?? ''));
  }
  if (route.suite === 'hang') {
    const lockup = /soft lockup/.test(outcome.console);
    const where = /vfio_mig_get_next_state/.test(outcome.console);
    checks.push({
      id: 'blocked.console-soft-lockup',
      expected: 'soft lockup in vfio_mig_get_next_state',
      observed: `${lockup ? 'soft lockup' : 'no soft lockup'}${where ? ' in vfio_mig_get_next_state' : ''}`,
      pass: lockup && where,
    });
    checks.push({
      id: 'blocked.guest-torn-down',
      expected: 'powered off',
      observed: outcome.timedOut ? 'killed by the host timeout' : 'powered off',
      pass: !outcome.timedOut,
    });
  }
  return {
    route,
    checks,
    ...(ktap ? { ktap } : {}),
    prepareSeconds,
    bootSeconds: outcome.seconds,
    prepared: guest.notes,
    timeline: parseTimeline(outcome.console),
  };
}
