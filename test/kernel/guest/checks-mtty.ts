// The mtty routes: the kernel's mtty sample driver (two mtty-2 mdevs) on Debian 6.12.95, 6.12.117, 7.3.4 through
// the group path, and on the cdev kernel through /dev/vfio/devices/vfioN + /dev/iommu. Everything goes through the
// project's runtime (openDevice, Device, MigrationSession) and its `vfio-uapi` command (info, save, load, migrate,
// conform), each command its own process. Raw syscalls remain only for kernel facts the runtime has no call for:
// errnos on the data fd, the UART registers in the device regions, PRECOPY_INFO's `flags` as the caller sent it.
//
// What differs between kernels is not written here: the guest reads its own release (uname) and asks
// runtime/kernel-release.ts what the spec's version data says that release does (the blocked request: hang or
// EINVAL; MIG_PRECOPY_INFOv2: there or not). Check ids start with their group: open, migration, reset, conform,
// blocked, precopy-v2, dma-logging, integrity.
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatedSpecData } from '../../../runtime/conformance/spec-data.js';
import {
  ioctlsIssued,
  isVfioError,
  MigrationSession,
  openDevice,
  type Device,
  type DeviceSpec,
  type SessionReport,
} from '../../../runtime/index.js';
import {
  blockedRequest,
  describeFix,
  describeKernel,
  featureAvailable,
  kernelRelease,
} from '../../../runtime/kernel-release.js';
import { CheckList, type GuestResults } from './check.js';
import { runIntegrityChecks } from './checks-integrity.js';
import { exitSummary, runCli, type CliRun } from './cli-runner.js';
import { parseKtap } from './ktap.js';
import {
  errnoName,
  feature,
  featureFlags,
  features,
  iommuGroupOf,
  listDir,
  outcome,
  precopyInfo,
  readStream,
  regionInfo,
  regionRead,
  regionWrite,
  setState,
  sys,
  type RegionInfo,
} from './vfio-ops.js';

const mdevRoot = '/sys/bus/mdev/devices';
const mttyMagic = 0x7e9d09898c3e2c4en;
// 16550 register offsets inside each port's 8-byte I/O BAR.
const uart = { data: 0, lineControl: 3, lineStatus: 5, scratch: 7 };
const lineStatusDataReady = 0x01;

/** A recognisable state for both UARTs: scratch values, a line setting and FIFO bytes. */
interface Ports {
  scratch: [number, number];
  lineControl: number;
  fifo: string;
}
const fresh: Ports = { scratch: [0, 0], lineControl: 0, fifo: '' };
const forSave: Ports = { scratch: [0x5a, 0xa5], lineControl: 0x03, fifo: 'vfio' };
const forMigrate: Ports = { scratch: [0x3c, 0xc3], lineControl: 0x1b, fifo: 'mig!' };
const beforeDamagedLoad: Ports = { scratch: [0x11, 0x22], lineControl: 0x07, fifo: 'int' };

const hex = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;
const describe = (p: Ports) =>
  `scratch ${hex(p.scratch[0])}/${hex(p.scratch[1])} lcr ${hex(p.lineControl)} fifo "${p.fifo}"`;

/** An arbitrary `flags` input to PRECOPY_INFO: a kernel that echoes it shows it unchanged. */
const flagsProbe = 0xfffffffe;

interface Mdev {
  uuid: string;
  /** How the runtime opens it on this route: `/dev/vfio/GROUP:UUID` or `/dev/vfio/devices/vfioN`. */
  path: string;
  /** The same device as an object (the runtime's other spelling). */
  spec: DeviceSpec;
  group: string;
  cdev: string | null;
}

function findMdevs(access: string): Mdev[] {
  return listDir(mdevRoot).map((uuid) => {
    const sysfs = `${mdevRoot}/${uuid}`;
    const group = `/dev/vfio/${iommuGroupOf(sysfs)}`;
    const node = existsSync(`${sysfs}/vfio-dev`) ? readdirSync(`${sysfs}/vfio-dev`)[0] : undefined;
    const cdev = node ? `/dev/vfio/devices/${node}` : null;
    if (access === 'cdev') {
      if (!cdev) throw new Error(`${uuid} has no vfio-dev node: this kernel has no cdev path`);
      return { uuid, path: cdev, spec: { cdev }, group, cdev };
    }
    return { uuid, path: `${group}:${uuid}`, spec: { group, name: uuid }, group, cdev };
  });
}

function bars(device: Device): [RegionInfo, RegionInfo] {
  return [regionInfo(device.fd, 0), regionInfo(device.fd, 1)];
}

function programPorts(device: Device, ports: Ports): void {
  const fd = device.fd;
  const [port0, port1] = bars(device);
  regionWrite(fd, port0, uart.scratch, 1, ports.scratch[0]);
  regionWrite(fd, port1, uart.scratch, 1, ports.scratch[1]);
  regionWrite(fd, port0, uart.lineControl, 1, ports.lineControl);
  for (const byte of Buffer.from(ports.fifo)) regionWrite(fd, port0, uart.data, 1, byte);
}

/** Reads the state back, draining the FIFO, as a user of the device would. */
function readPorts(device: Device): string {
  const fd = device.fd;
  const [port0, port1] = bars(device);
  const fifo: number[] = [];
  const scratch0 = regionRead(fd, port0, uart.scratch, 1);
  const scratch1 = regionRead(fd, port1, uart.scratch, 1);
  const lineControl = regionRead(fd, port0, uart.lineControl, 1);
  while (fifo.length < 32 && regionRead(fd, port0, uart.lineStatus, 1) & lineStatusDataReady) {
    fifo.push(regionRead(fd, port0, uart.data, 1));
  }
  return describe({ scratch: [scratch0, scratch1], lineControl, fifo: Buffer.from(fifo).toString() });
}

/** Reads the registers without draining the FIFO (so a following check still finds the bytes). */
function peekPorts(device: Device): string {
  const fd = device.fd;
  const [port0, port1] = bars(device);
  const ready = regionRead(fd, port0, uart.lineStatus, 1) & lineStatusDataReady ? 'data ready' : 'empty';
  return `scratch ${hex(regionRead(fd, port0, uart.scratch, 1))}/${hex(regionRead(fd, port1, uart.scratch, 1))} lcr ${hex(regionRead(fd, port0, uart.lineControl, 1))} fifo ${ready}`;
}

/** The states a session walked, e.g. RUNNING>PRE_COPY>PRE_COPY_P2P (successful SETs only). */
function walked(report: SessionReport | undefined, fromStep = 0): string {
  const steps = (report?.steps ?? []).slice(fromStep).filter((s) => s.ok && s.to);
  if (!steps.length) return 'no steps';
  return [steps[0]!.from, ...steps.map((s) => s.to)].join('>');
}

/** Opens, runs, and always closes: the CLI processes that follow need the device free. */
async function withDevice<T>(spec: DeviceSpec, body: (d: Device) => Promise<T> | T): Promise<T> {
  const device = await openDevice(spec);
  try {
    return await body(device);
  } finally {
    await device.close();
  }
}

/** What a rejected call threw, in one comparable line. */
function thrown(body: () => unknown): string {
  try {
    body();
    return 'no error';
  } catch (error) {
    if (!isVfioError(error)) return `non-VfioError: ${(error as Error).message}`;
    return `${error.kind} rule ${error.rule ?? '-'} ${error.errnoName ?? 'errno 0'}`;
  }
}

function cliField(run: CliRun, ...path: string[]): unknown {
  let value: unknown = run.json;
  for (const key of path) value = (value as Record<string, unknown> | null | undefined)?.[key];
  return value;
}

export interface MttyContext {
  list: CheckList;
  workDir: string;
  access: string;
  /** Does the kernel's config have CONFIG_IOMMUFD_DRIVER (read by the host from the kernel's own config)? */
  iommufdDriver: boolean;
  /** The guest's results: the conformance run's KTAP goes in them, for the host to print in its report. */
  results: Pick<GuestResults, 'ktap'>;
}

export async function runMttyChecks(ctx: MttyContext): Promise<void> {
  const { list, workDir, access } = ctx;
  const spec = generatedSpecData();
  const kernel = kernelRelease();
  console.log(`vfiotest: kernel ${describeKernel(kernel)}, access ${access}`);
  const mdevs = findMdevs(access);
  if (!list.expect('open.mdevs', '2 mdevs', `${mdevs.length} mdevs`)) return;
  const [source, destination] = mdevs as [Mdev, Mdev];

  // ---- open path ----
  const nodes =
    access === 'cdev'
      ? ['/dev/iommu', source.path, destination.path, '/dev/vfio/vfio']
      : ['/dev/vfio/vfio', source.group, destination.group];
  list.expect(
    'open.nodes',
    nodes.join(' ') + ' exist',
    nodes.map((n) => (existsSync(n) ? n : `${n} MISSING`)).join(' ') + ' exist',
  );
  const v2Available = featureAvailable(spec, kernel, 'MIG_PRECOPY_INFOv2');
  await list.step('open.runtime', () =>
    withDevice(source.path, (device) => {
      list.expect('open.runtime', `${access} access`, `${device.id.access} access`);
      const info = device.info();
      list.expect(
        'open.info',
        'regions 9 irqs 5 flags 0x2',
        `regions ${info.num_regions} irqs ${info.num_irqs} flags 0x${info.flags.toString(16)}`,
      );
      const caps = device.migration();
      list.expect('open.migration', 'STOP_COPY+P2P+PRE_COPY flags 7', `${caps?.capsKey} flags ${caps?.flags}`);
      list.expect('open.state-and-data-size', 'RUNNING 96', `${device.state()} ${device.dataSize()}`);
      const present = device
        .features()
        .filter((f) => f.present)
        .map((f) => f.short);
      const expected = ['MIGRATION', 'MIG_DEVICE_STATE', 'DMA_LOGGING_START', 'DMA_LOGGING_STOP', 'DMA_LOGGING_REPORT'];
      expected.push('MIG_DATA_SIZE');
      if (v2Available) expected.push('MIG_PRECOPY_INFOv2');
      list.expect(
        'open.features',
        expected.join(','),
        present.join(','),
        `MIG_PRECOPY_INFOv2 ${v2Available ? 'is' : 'is not'} in Linux ${describeKernel(kernel)} by its since in the spec`,
      );
    }),
  );

  // ---- migration: info, save and load as separate processes, registers checked on the destination ----
  await list.step('migration.programmed', () =>
    withDevice(source.path, (device) => {
      programPorts(device, forSave);
      list.expect(
        'migration.source-programmed',
        `scratch ${hex(forSave.scratch[0])}/${hex(forSave.scratch[1])} lcr ${hex(forSave.lineControl)} fifo data ready`,
        peekPorts(device),
      );
    }),
  );
  await list.step('migration.destination-before', () =>
    withDevice(destination.spec, (device) =>
      // A fresh mdev holds none of the source's values, so matching them afterwards proves the migration.
      list.expect('migration.destination-before', describe(fresh), readPorts(device)),
    ),
  );
  const info = runCli(['info', source.path, '--json']);
  list.expect(
    'migration.cli.info',
    `exit 0 ${access} flags 7 RUNNING data size 96`,
    `${exitSummary(info)} ${cliField(info, 'access')} flags ${cliField(info, 'migration', 'flags')} ` +
      `${cliField(info, 'state')} data size ${cliField(info, 'dataSize')}`,
  );
  const stateFile = join(workDir, 'mtty-source.vfio');
  rmSync(stateFile, { force: true });
  const save = runCli(['save', source.path, stateFile, '--json']);
  list.expect('migration.cli.save', 'exit 0', exitSummary(save));
  list.expect(
    'migration.cli.save.bytes',
    'pre-copy 24 stop-copy 72',
    `pre-copy ${cliField(save, 'precopyBytes')} stop-copy ${cliField(save, 'stopCopyBytes')}`,
  );
  list.expect(
    'migration.cli.save.states',
    'RUNNING>PRE_COPY>PRE_COPY_P2P>STOP_COPY>STOP',
    walked(cliField(save, 'report') as SessionReport | undefined),
  );
  const load = runCli(['load', destination.path, stateFile, '--json']);
  list.expect('migration.cli.load', 'exit 0', exitSummary(load));
  list.expect(
    'migration.cli.load.states',
    'RUNNING>RUNNING_P2P>STOP>RESUMING>STOP>RUNNING_P2P>RUNNING',
    walked(cliField(load, 'report') as SessionReport | undefined),
  );
  await list.step('migration.destination-after-load', () =>
    withDevice(destination.spec, (device) =>
      list.expect('migration.destination-after-load', describe(forSave), readPorts(device)),
    ),
  );

  // ---- reset: what VFIO_DEVICE_RESET does to mtty's registers ----
  // mtty's reset (samples/vfio-mdev/mtty.c, mtty_reset → mtty_state_mutex_unlock) only returns the migration
  // state to RUNNING and disables the migration files; the UART registers and FIFO are left as they were.
  await list.step('reset.registers', () =>
    withDevice(destination.spec, (device) => {
      programPorts(device, forMigrate);
      device.reset();
      list.expect(
        'reset.registers',
        `RUNNING, ${describe(forMigrate)}`,
        `${device.state()}, ${readPorts(device)}`,
        'mtty_reset only resets the migration state: registers and FIFO survive VFIO_DEVICE_RESET',
      );
    }),
  );

  // ---- migration: `vfio-uapi migrate` between the two devices ----
  await list.step('migration.migrate-programmed', () =>
    withDevice(source.path, (device) => {
      // save left the source in STOP (its final state), and mtty keeps the state across close: back to RUNNING,
      // which leaves the registers alone (reset.registers), then drain the FIFO and program new values.
      device.reset();
      readPorts(device);
      programPorts(device, forMigrate);
    }),
  );
  await list.step('migration.migrate-destination-before', () =>
    withDevice(destination.spec, (device) => {
      readPorts(device); // drain
      programPorts(device, fresh);
      list.expect('migration.migrate-destination-before', describe(fresh), readPorts(device));
    }),
  );
  const migrate = runCli(['migrate', source.path, destination.path, '--json', '--quiet']);
  list.expect('migration.cli.migrate', 'exit 0', exitSummary(migrate));
  list.expect(
    'migration.cli.migrate.bytes',
    'pre-copy 24 stop-copy 72',
    `pre-copy ${cliField(migrate, 'precopyBytes')} stop-copy ${cliField(migrate, 'stopCopyBytes')}`,
  );
  await list.step('migration.destination-after-migrate', () =>
    withDevice(destination.spec, (device) => {
      list.expect(
        'migration.destination-after-migrate',
        `RUNNING, ${describe(forMigrate)}`,
        `${device.state()}, ${readPorts(device)}`,
      );
    }),
  );

  // ---- conformance: the suite judges the source against every rule, and prints KTAP ----
  // With the spec's version data, conform itself keeps the blocked request from a release that never returns
  // from it. A spec without that data cannot tell: then the guest does not ask for forbidden requests at all
  // (blocked.version-data fails, saying why), rather than lose every result to a frozen guest.
  const blocked = blockedRequest(spec, kernel, 'STOP_COPY', 'PRE_COPY');
  const withForbidden = blocked.status !== 'no-data' ? ['--with-forbidden'] : [];
  const conform = runCli([
    'conform',
    source.path,
    '--yes',
    '--known-failures',
    'auto',
    ...withForbidden,
    '--format',
    'ktap',
  ]);
  const printed = conform.stdout.trim();
  if (printed) ctx.results.ktap = printed;
  writeFileSync(join(workDir, 'conform.ktap'), `${printed}\n`);
  list.expect('conform.exit', 'exit 0', exitSummary(conform));
  const ktap = parseKtap(printed);
  list.expect(
    'conform.ktap',
    'KTAP version 1, plan matches',
    ktap.problems.length ? ktap.problems.slice(0, 3).join('; ') : 'KTAP version 1, plan matches',
  );
  for (const r of ktap.results) {
    const observed = r.ok
      ? r.directive
        ? `${r.directive}`
        : 'ok'
      : `not ok${r.diagnostics.length ? `: ${r.diagnostics[0]}` : ''}`;
    list.add({
      id: `conform.${r.name}`,
      expected: r.directive === 'XFAIL' ? 'XFAIL (listed)' : r.directive === 'SKIP' ? 'SKIP' : 'ok',
      observed,
      pass: r.ok,
      ...(r.reason ? { note: r.reason } : {}),
    });
  }
  const byName = new Map(ktap.results.map((r) => [r.name, r]));
  const verdict = (name: string) => {
    const r = byName.get(name);
    return r ? `${r.ok ? 'ok' : 'not ok'}${r.directive ? ` ${r.directive}` : ''}` : 'absent';
  };
  // The access-path rules run for real where the kernel has the nodes; they skip, naming the option, where not.
  const accessRules = ktap.results.filter((r) => /^(cdev|iommufd|group|container)\./.test(r.name));
  const cdevRules = accessRules.filter((r) => /^(cdev|iommufd)\./.test(r.name));
  // The vfio-dev class device exists in sysfs either way; the /dev/vfio/devices node only with VFIO_DEVICE_CDEV.
  const hasCdev = !!source.cdev && existsSync(source.cdev) && existsSync('/dev/iommu');
  list.expect(
    'conform.access-rules',
    `${cdevRules.length} cdev/iommufd rules ${hasCdev ? 'judged' : 'skipped (no cdev path)'}, group/container judged`,
    `${cdevRules.length} cdev/iommufd rules ${cdevRules.every((r) => r.directive === null) ? 'judged' : cdevRules.every((r) => r.directive === 'SKIP') ? 'skipped (no cdev path)' : 'partly skipped'}, ` +
      `group/container ${accessRules.filter((r) => !cdevRules.includes(r)).every((r) => r.directive === null) ? 'judged' : 'skipped'}`,
  );
  list.expect(
    'conform.totals',
    'fail 0 xpass 0',
    ktap.totals ? `fail ${ktap.totals.fail} xpass ${ktap.totals.xpass}` : 'no Totals line',
    ktap.totals ? `pass ${ktap.totals.pass}, xfail ${ktap.totals.xfail}, skip ${ktap.totals.skip}` : undefined,
  );

  // ---- the blocked request (STOP_COPY → PRE_COPY*): what this release does, from the spec's version data ----
  list.expect(
    'blocked.version-data',
    'the spec says what this release answers',
    blocked.status === 'no-data'
      ? 'the spec has no kernelFixes entry for STOP_COPY → PRE_COPY'
      : blocked.status === 'unknown-release'
        ? `release ${kernel.release} unknown`
        : 'the spec says what this release answers',
    blocked.fix
      ? `${describeKernel(kernel)}: ${blocked.answer} (${blocked.status}; ${describeFix(blocked.fix)})`
      : undefined,
  );
  list.expect(
    'blocked.conform-rule',
    blocked.answer === 'hang' || !withForbidden.length ? 'ok SKIP' : 'ok',
    verdict('mig.state.set.forbidden'),
    blocked.answer === 'hang'
      ? 'never sent on this kernel: the request would spin in vfio_mig_get_next_state (see --with-hang)'
      : withForbidden.length
        ? `sent from a child process: ${blocked.answer}`
        : 'not asked for (no --with-forbidden): the spec cannot say whether this release returns',
  );

  let stream = Buffer.alloc(0);
  await list.step('migration.session.source', () =>
    withDevice(source.path, (device) => {
      device.reset();
      list.expect('migration.session.reset', 'RUNNING', device.state());
      const session = MigrationSession.open(device, { guard: 'strict' });
      try {
        session.moveTo('PRE_COPY');
        const dataFd = session.dataFd;
        list.expect('migration.session.pre-copy', 'saving fd', `${session.dataFdDirection ?? 'no'} fd`);
        const first = session.precopyInfo();
        list.expect(
          'migration.session.precopy-info',
          'initial 24 dirty 0',
          `initial ${first.initialBytes} dirty ${first.dirtyBytes}`,
        );
        const initial = readStream(dataFd);
        list.expect(
          'migration.session.pre-copy-reads',
          '24,0',
          initial.reads.join(','),
          'the uAPI asks for ENOMSG at the end of the initial data; mtty returns 0 (known failure stream.enomsg)',
        );
        const drained = session.precopyInfo();
        list.expect(
          'migration.session.precopy-drained',
          'initial 0 dirty 0',
          `initial ${drained.initialBytes} dirty ${drained.dirtyBytes}`,
        );
        const stepsBefore = session.report.steps.length;
        session.moveTo('STOP_COPY');
        list.expect(
          'migration.session.stop-copy',
          'PRE_COPY>PRE_COPY_P2P>STOP_COPY same fd',
          `${walked(session.report, stepsBefore)} ${session.dataFd === dataFd ? 'same' : 'new'} fd`,
        );
        // The runtime refuses PRECOPY_INFO outside pre-copy; the kernel, asked raw, agrees with EINVAL.
        list.expect(
          'migration.session.precopy-info-in-stop-copy',
          'refused rule precopy.valid_states errno 0; raw EINVAL',
          `${thrown(() => session.precopyInfo())}; raw ${outcome(precopyInfo(dataFd).result)}`,
        );
        const final = readStream(dataFd);
        list.expect('migration.session.stop-copy-reads', '72,0', final.reads.join(','));
        list.expect('migration.session.read-after-end', '0', outcome(sys.read(dataFd, Buffer.alloc(16))));
        list.expect('migration.session.pread', 'ESPIPE', outcome(sys.pread(dataFd, Buffer.alloc(8), 0)));
        list.expect('migration.session.lseek', 'ESPIPE', outcome(sys.lseek(dataFd, 0, 0)));
        list.expect('migration.session.write-on-saving-fd', 'EBADF', outcome(sys.write(dataFd, Buffer.alloc(8))));
        stream = Buffer.concat([initial.data, final.data]);
        const magic = stream.length >= 8 ? stream.readBigUInt64LE(0) : 0n;
        list.expect(
          'migration.session.stream',
          `96 bytes magic ${mttyMagic.toString(16)}`,
          `${stream.length} bytes magic ${magic.toString(16)}`,
        );

        // Strict mode refuses the blocked request on every kernel, before any ioctl.
        for (const target of ['PRE_COPY', 'PRE_COPY_P2P'] as const) {
          const ioctlsBefore = ioctlsIssued();
          const refusal = thrown(() => session.moveTo(target));
          const ioctls = ioctlsIssued() - ioctlsBefore;
          list.expect(
            `blocked.strict.stop-copy-to-${target.toLowerCase().replaceAll('_', '-')}`,
            'refused rule mig.state.set.forbidden errno 0, 0 ioctls, still STOP_COPY',
            `${refusal}, ${ioctls} ioctls, still ${device.state()}`,
          );
        }
        // Unguarded, on a release the version data says answers: the raw request, then the runtime's audit mode.
        if (blocked.answer !== 'hang' && blocked.status !== 'no-data') {
          for (const target of ['PRE_COPY', 'PRE_COPY_P2P'] as const) {
            const t0 = Date.now();
            const r = device.setStateRaw(target);
            const ms = Date.now() - t0;
            list.expect(
              `blocked.raw.stop-copy-to-${target.toLowerCase().replaceAll('_', '-')}`,
              `${blocked.answer}, still STOP_COPY`,
              `${r.ok ? 'accepted' : errnoName(r.errno)}, still ${device.state()}`,
              `answered in ${ms} ms`,
            );
          }
        }

        // A second fd on the same file shows what the kernel does once the runtime ends the session.
        const kept = sys.dup(dataFd).ret;
        session.moveTo('STOP');
        list.expect(
          'migration.session.stop',
          'fd closed by the runtime',
          session.dataFd < 0 ? 'fd closed by the runtime' : 'fd open',
        );
        list.expect('migration.session.read-after-session', 'ENODEV', outcome(sys.read(kept, Buffer.alloc(8))));
        sys.close(kept);
      } finally {
        session.close();
      }

      if (blocked.answer !== 'hang' && blocked.status !== 'no-data') {
        // From RUNNING, so that the recovery (a source goes back to its start state) has RUNNING to return to.
        device.reset();
        const audit = MigrationSession.open(device, { guard: 'audit', mode: 'direct' });
        try {
          audit.moveTo('STOP_COPY');
          const failure = thrown(() => audit.moveTo('PRE_COPY'));
          const record = audit.report.audit.at(-1);
          list.expect(
            'blocked.audit',
            `kernel ${blocked.answer} (spec: refuse with EINVAL), then back to its start state RUNNING`,
            `kernel ${record?.kernel} (spec: ${record?.spec}), then back to its start state ${device.state()}`,
            failure,
          );
        } finally {
          audit.close();
        }
      }

      // Direct mode (as QEMU): RUNNING → STOP_COPY in one request gives all 96 bytes at once.
      const direct = MigrationSession.open(device, { mode: 'direct' });
      try {
        direct.moveTo('RUNNING');
        const stepsBefore = direct.report.steps.length;
        direct.moveTo('STOP_COPY');
        list.expect(
          'migration.direct.stop-copy',
          'RUNNING>STOP_COPY saving fd, reads 96,0',
          `${walked(direct.report, stepsBefore)} ${direct.dataFdDirection ?? 'no'} fd, reads ${readStream(direct.dataFd).reads.join(',')}`,
        );
        direct.moveTo('RUNNING');
      } finally {
        direct.close();
      }

      // States the uAPI does not define: the runtime refuses them by rule; a raw SET of 99 gets EINVAL.
      const strict = MigrationSession.open(device);
      list.expect(
        'migration.strict.set-error',
        'refused rule mig.state.set.invalid errno 0',
        thrown(() => strict.moveTo('ERROR')),
      );
      strict.close();
      list.expect(
        'migration.raw.set-99',
        'EINVAL RUNNING',
        `${outcome(setState(device.fd, 99).result)} ${device.state()}`,
      );
    }),
  );

  await list.step('migration.session.destination', () =>
    withDevice(destination.spec, (device) => {
      const session = MigrationSession.open(device);
      try {
        session.moveTo('RESUMING');
        const fd = session.dataFd;
        list.expect(
          'migration.resume.states',
          'RUNNING>RUNNING_P2P>STOP>RESUMING resuming fd',
          `${walked(session.report)} ${session.dataFdDirection} fd`,
        );
        list.expect('migration.resume.read', 'EBADF', outcome(sys.read(fd, Buffer.alloc(8))));
        list.expect('migration.resume.pwrite', 'ESPIPE', outcome(sys.pwrite(fd, Buffer.alloc(8), 0)));
        const header = outcome(sys.write(fd, stream.subarray(0, 24)));
        const body = outcome(sys.write(fd, stream.subarray(24)));
        list.expect('migration.resume.write', '24,72', `${header},${body}`);
        list.expect('migration.resume.write-past-end', 'ENOMEM', outcome(sys.write(fd, Buffer.alloc(1))));
        session.moveTo('RUNNING');
        list.expect('migration.resume.running', 'RUNNING', device.state());

        // A corrupt header: EFAULT, then the kernel refuses to leave RESUMING; the runtime recovers by reset.
        session.moveTo('RESUMING');
        list.expect('migration.corrupt.write', 'EFAULT', outcome(sys.write(session.dataFd, Buffer.alloc(24, 0xee))));
        const failure = thrown(() => session.moveTo('RUNNING'));
        const recovery = session.report.recoveries.at(-1);
        list.expect(
          'migration.corrupt.leave-resuming',
          'kernel rule mig.state.error_reset EINVAL; stayed RESUMING, reset, now RUNNING',
          `${failure}; stayed ${recovery?.observed}, ${recovery?.action}, now ${device.state()}`,
        );
      } finally {
        session.close();
      }
    }),
  );

  // ---- integrity: damaged saved files never run on the destination (issue 12's load fault matrix) ----
  await runIntegrityChecks(list, {
    destination: destination.spec,
    goodFile: stateFile,
    goodPorts: describe(forSave),
    program: (device) => {
      readPorts(device); // drain the FIFO first: the before state is exactly beforeDamagedLoad
      programPorts(device, beforeDamagedLoad);
    },
    before: describe(beforeDamagedLoad),
    readPorts,
    workDir,
  });

  await runPrecopyV2Checks(list, source, v2Available, describeKernel(kernel));
  await runDmaLoggingChecks(list, source, ctx.iommufdDriver);
}

/**
 * MIG_PRECOPY_INFOv2 (feature 12): on a release before its `since` it is ENOTTY and PRECOPY_INFO echoes the
 * caller's `flags`; from it on the opt-in is accepted, `flags` is zeroed after it and echoed before it, and the
 * opt-in is gone after the device's last close.
 */
async function runPrecopyV2Checks(list: CheckList, source: Mdev, available: boolean | null, kernel: string) {
  const { probe, set, get } = featureFlags;
  const v2 = features.migPrecopyInfoV2;
  list.expect(
    'precopy-v2.release',
    'known',
    available === null ? 'unknown release' : 'known',
    `${kernel}: MIG_PRECOPY_INFOv2 ${available ? 'since 7.1, present' : 'absent (since 7.1)'}`,
  );
  const echoed = `flags ${hex(flagsProbe)}`;
  /** Opens the device afresh, reaches PRE_COPY without the opt-in, runs `body`, closes (the device's last close). */
  const inPreCopy = (body: (device: Device, session: MigrationSession) => void) =>
    withDevice(source.spec, (device) => {
      const session = MigrationSession.open(device, { precopyInfoV2: false });
      try {
        session.moveTo('PRE_COPY');
        body(device, session);
      } finally {
        session.close();
        device.reset();
      }
    });
  const flagsNow = (session: MigrationSession) => {
    const r = precopyInfo(session.dataFd, flagsProbe);
    return r.result.ret < 0 ? outcome(r.result) : `flags ${hex(r.flags)}`;
  };

  await list.step('precopy-v2.opt-in', () =>
    inPreCopy((device, session) => {
      list.expect(
        'precopy-v2.flags-before-opt-in',
        echoed,
        flagsNow(session),
        "the kernel leaves the caller's flags as they were",
      );
      list.expect(
        'precopy-v2.probe-set',
        available ? '0' : 'ENOTTY',
        outcome(feature(device.fd, probe | set | v2, 0).result),
      );
      // GET is not an op of feature 12 (only SET is): EINVAL where the kernel knows the feature.
      list.expect('precopy-v2.get', available ? 'EINVAL' : 'ENOTTY', outcome(feature(device.fd, get | v2, 0).result));
      const optedIn = session.enablePrecopyInfoV2();
      list.expect(
        'precopy-v2.set-in-pre-copy',
        available ? 'accepted' : 'not available',
        optedIn ? 'accepted' : 'not available',
      );
      list.expect(
        'precopy-v2.flags-after-opt-in',
        available ? 'flags 0x00' : echoed,
        flagsNow(session),
        available ? 'zeroed: mtty never reports REINIT' : 'no opt-in on this kernel: flags still echoed',
      );
    }),
  );
  // The opt-in belongs to the open device: after the last close (withDevice closed it) it is gone.
  await list.step('precopy-v2.after-last-close', () =>
    inPreCopy((_device, session) =>
      list.expect(
        'precopy-v2.cleared-at-last-close',
        echoed,
        flagsNow(session),
        'reopened after the last close, no opt-in yet',
      ),
    ),
  );
  // A session asked to opt in does so where the kernel can, and says whether it did.
  await list.step('precopy-v2.session-opt-in', () =>
    withDevice(source.spec, (device) => {
      const session = MigrationSession.open(device, { precopyInfoV2: true });
      try {
        list.expect(
          'precopy-v2.session-opt-in',
          available ? 'opted in' : 'not opted in',
          session.precopyV2 ? 'opted in' : 'not opted in',
        );
      } finally {
        session.close();
        device.reset();
      }
    }),
  );
}

/** DMA logging through the runtime: START, REPORT, STOP. REPORT needs CONFIG_IOMMUFD_DRIVER (iova_bitmap). */
async function runDmaLoggingChecks(list: CheckList, source: Mdev, iommufdDriver: boolean) {
  await list.step('dma-logging', () =>
    withDevice(source.spec, (device) => {
      const { probe, set } = featureFlags;
      list.expect(
        'dma-logging.probe',
        '0',
        outcome(feature(device.fd, probe | set | features.dmaLoggingStart, 0).result),
      );
      const session = MigrationSession.open(device);
      try {
        const length = 1n << 20n;
        list.expect(
          'dma-logging.start',
          'page size 4096',
          `page size ${session.startDmaLogging([{ iova: 0n, length }])}`,
        );
        let report: string;
        try {
          const bitmap = session.reportDmaLogging(0n, length);
          report = `${bitmap.length} bytes, ${bitmap.some((b) => b !== 0) ? 'dirty bits set' : 'clear'}`;
        } catch (error) {
          report = isVfioError(error) ? (error.errnoName ?? error.message) : String(error);
        }
        list.expect(
          'dma-logging.report',
          iommufdDriver ? '32 bytes, clear' : 'EOPNOTSUPP',
          report,
          iommufdDriver
            ? 'CONFIG_IOMMUFD_DRIVER=y: the core fills the bitmap (mtty logs nothing: its logging ops are stubs)'
            : "CONFIG_IOMMUFD_DRIVER unset in this kernel's config: no iova_bitmap, though PROBE said supported",
        );
        list.expect(
          'dma-logging.stop',
          'stopped',
          thrown(() => session.stopDmaLogging()).replace('no error', 'stopped'),
        );
      } finally {
        session.close();
      }
    }),
  );
}
