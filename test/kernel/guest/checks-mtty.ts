// Route A: the real migration driver (the kernel's mtty sample) on Linux 6.12, two mtty-2 mdevs, driven
// through the project's runtime (openDevice, Device, MigrationSession) and its `vfio-uapi` command line
// (info, save, load, conform). Raw syscalls remain only for kernel facts the runtime has no call for:
// errnos on the data fd (ESPIPE, EBADF, ENODEV, ENOMEM, EFAULT) and the UART registers in the device region.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  ioctlsIssued,
  isVfioError,
  MigrationSession,
  openDevice,
  type Device,
  type SessionReport,
} from '../../../runtime/index.js';
import { CheckList } from './check.js';
import { exitSummary, runCli, type CliRun } from './cli-runner.js';
import {
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
const fifoBytes = [...Buffer.from('vfio')];
const freshPorts = 'scratch 0x00/0x00 lcr 0x00 fifo ""';
const programmedPorts = 'scratch 0x5a/0xa5 lcr 0x03 fifo "vfio"';

interface Mdev {
  uuid: string;
  group: number;
  /** The runtime's group form: /dev/vfio/GROUP:NAME. */
  path: string;
}

function bars(device: Device): [RegionInfo, RegionInfo] {
  return [regionInfo(device.fd, 0), regionInfo(device.fd, 1)];
}

/** Puts a recognisable state into both UARTs: scratch values, a line setting and FIFO bytes. */
function programPorts(device: Device): void {
  const fd = device.fd;
  const [port0, port1] = bars(device);
  regionWrite(fd, port0, uart.scratch, 1, 0x5a);
  regionWrite(fd, port1, uart.scratch, 1, 0xa5);
  regionWrite(fd, port0, uart.lineControl, 1, 0x03);
  for (const byte of fifoBytes) regionWrite(fd, port0, uart.data, 1, byte);
}

/** Reads the same state back, draining the FIFO, as a user of the device would. */
function describePorts(device: Device): string {
  const fd = device.fd;
  const [port0, port1] = bars(device);
  const scratch0 = regionRead(fd, port0, uart.scratch, 1);
  const scratch1 = regionRead(fd, port1, uart.scratch, 1);
  const lineControl = regionRead(fd, port0, uart.lineControl, 1);
  const fifo: number[] = [];
  while (fifo.length < 32 && regionRead(fd, port0, uart.lineStatus, 1) & lineStatusDataReady) {
    fifo.push(regionRead(fd, port0, uart.data, 1));
  }
  const hex = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;
  return `scratch ${hex(scratch0)}/${hex(scratch1)} lcr ${hex(lineControl)} fifo "${Buffer.from(fifo).toString()}"`;
}

/** The states a session walked, e.g. RUNNING>PRE_COPY>PRE_COPY_P2P (successful SETs only). */
function walked(report: SessionReport | undefined, fromStep = 0): string {
  const steps = (report?.steps ?? []).slice(fromStep).filter((s) => s.ok && s.to);
  if (!steps.length) return 'no steps';
  return [steps[0]!.from, ...steps.map((s) => s.to)].join('>');
}

/** Opens, runs, and always closes: the CLI processes that follow need the group free. */
async function withDevice<T>(spec: Parameters<typeof openDevice>[0], body: (d: Device) => Promise<T> | T): Promise<T> {
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

export async function runMttyChecks(list: CheckList, workDir: string): Promise<void> {
  const uuids = listDir(mdevRoot);
  if (!list.expect('a.mdevs', '2 mdevs', `${uuids.length} mdevs`)) return;
  const [source, destination] = uuids.map((uuid): Mdev => {
    const group = iommuGroupOf(`${mdevRoot}/${uuid}`);
    return { uuid, group, path: `/dev/vfio/${group}:${uuid}` };
  }) as [Mdev, Mdev];
  const destinationByParts = { group: `/dev/vfio/${destination.group}`, name: destination.uuid };

  await list.step('a.runtime.open', () =>
    withDevice(source.path, (device) => {
      list.expect('a.runtime.open', 'group access', `${device.id.access} access`);
      const info = device.info();
      list.expect(
        'a.runtime.info',
        'regions 9 irqs 5 flags 0x2',
        `regions ${info.num_regions} irqs ${info.num_irqs} flags 0x${info.flags.toString(16)}`,
      );
      const caps = device.migration();
      list.expect('a.runtime.migration', 'STOP_COPY+P2P+PRE_COPY flags 7', `${caps?.capsKey} flags ${caps?.flags}`);
      list.expect('a.runtime.state-and-data-size', 'RUNNING 96', `${device.state()} ${device.dataSize()}`);
      const present = device
        .features()
        .filter((f) => f.present)
        .map((f) => f.short);
      list.expect(
        'a.runtime.features',
        'MIGRATION,MIG_DEVICE_STATE,DMA_LOGGING_START,DMA_LOGGING_STOP,DMA_LOGGING_REPORT,MIG_DATA_SIZE',
        present.join(','),
      );
      programPorts(device);
    }),
  );
  await list.step('a.runtime.destination-before', () =>
    withDevice(destinationByParts, (device) => {
      // A fresh mdev holds none of the source's values, so matching them afterwards proves the migration.
      list.expect('a.runtime.destination-before', freshPorts, describePorts(device));
    }),
  );

  const info = runCli(['info', source.path, '--json']);
  list.expect(
    'a.cli.info',
    'exit 0 group flags 7 RUNNING data size 96',
    `${exitSummary(info)} ${cliField(info, 'access')} flags ${cliField(info, 'migration', 'flags')} ` +
      `${cliField(info, 'state')} data size ${cliField(info, 'dataSize')}`,
  );

  const stateFile = join(workDir, 'mtty-source.vfio');
  rmSync(stateFile, { force: true });
  const save = runCli(['save', source.path, stateFile, '--json']);
  list.expect('a.cli.save', 'exit 0', exitSummary(save));
  list.expect(
    'a.cli.save.bytes',
    'pre-copy 24 stop-copy 72',
    `pre-copy ${cliField(save, 'precopyBytes')} stop-copy ${cliField(save, 'stopCopyBytes')}`,
  );
  list.expect(
    'a.cli.save.states',
    'RUNNING>PRE_COPY>PRE_COPY_P2P>STOP_COPY>STOP',
    walked(cliField(save, 'report') as SessionReport | undefined),
  );
  const load = runCli(['load', destination.path, stateFile, '--json']);
  list.expect('a.cli.load', 'exit 0', exitSummary(load));
  list.expect(
    'a.cli.load.states',
    'RUNNING>RUNNING_P2P>STOP>RESUMING>STOP>RUNNING_P2P>RUNNING',
    walked(cliField(load, 'report') as SessionReport | undefined),
  );
  await list.step('a.destination-after-load', () =>
    withDevice(destinationByParts, (device) =>
      list.expect('a.destination-after-load', programmedPorts, describePorts(device)),
    ),
  );

  // The conformance suite judges the source against every rule, with mtty's committed known failures.
  const conform = runCli(['conform', source.path, '--yes', '--known-failures', 'auto', '--json']);
  list.expect('a.conform.exit', 'exit 0', exitSummary(conform));
  addConformanceResults(list, conform);

  let stream = Buffer.alloc(0);
  await list.step('a.session.source', () =>
    withDevice(source.path, (device) => {
      device.reset();
      list.expect('a.session.reset', 'RUNNING', device.state());
      const session = MigrationSession.open(device, { guard: 'strict' });
      try {
        session.moveTo('PRE_COPY');
        const dataFd = session.dataFd;
        list.expect('a.session.pre-copy', 'saving fd', `${session.dataFdDirection ?? 'no'} fd`);
        const info = session.precopyInfo();
        list.expect(
          'a.session.precopy-info',
          'initial 24 dirty 0',
          `initial ${info.initialBytes} dirty ${info.dirtyBytes}`,
        );
        const initial = readStream(dataFd);
        list.expect(
          'a.session.pre-copy-reads',
          '24,0',
          initial.reads.join(','),
          'the uAPI asks for ENOMSG at the end of the initial data; mtty returns 0 (known failure stream.enomsg)',
        );
        const drained = session.precopyInfo();
        list.expect(
          'a.session.precopy-drained',
          'initial 0 dirty 0',
          `initial ${drained.initialBytes} dirty ${drained.dirtyBytes}`,
        );
        const stepsBefore = session.report.steps.length;
        session.moveTo('STOP_COPY');
        list.expect(
          'a.session.stop-copy',
          'PRE_COPY>PRE_COPY_P2P>STOP_COPY same fd',
          `${walked(session.report, stepsBefore)} ${session.dataFd === dataFd ? 'same' : 'new'} fd`,
        );
        // The runtime refuses PRECOPY_INFO outside pre-copy; the kernel, asked raw, agrees with EINVAL.
        list.expect(
          'a.session.precopy-info-in-stop-copy',
          'refused rule precopy.valid_states errno 0; raw EINVAL',
          `${thrown(() => session.precopyInfo())}; raw ${outcome(precopyInfo(dataFd).result)}`,
        );
        const final = readStream(dataFd);
        list.expect('a.session.stop-copy-reads', '72,0', final.reads.join(','));
        list.expect('a.session.read-after-end', '0', outcome(sys.read(dataFd, Buffer.alloc(16))));
        list.expect('a.session.pread', 'ESPIPE', outcome(sys.pread(dataFd, Buffer.alloc(8), 0)));
        list.expect('a.session.lseek', 'ESPIPE', outcome(sys.lseek(dataFd, 0, 0)));
        list.expect('a.session.write-on-saving-fd', 'EBADF', outcome(sys.write(dataFd, Buffer.alloc(8))));
        stream = Buffer.concat([initial.data, final.data]);
        const magic = stream.length >= 8 ? stream.readBigUInt64LE(0) : 0n;
        list.expect(
          'a.session.stream',
          `96 bytes magic ${mttyMagic.toString(16)}`,
          `${stream.length} bytes magic ${magic.toString(16)}`,
        );

        // The 6.12 kernel spins forever on STOP_COPY → PRE_COPY*; strict mode must refuse before any ioctl.
        for (const target of ['PRE_COPY', 'PRE_COPY_P2P'] as const) {
          const ioctlsBefore = ioctlsIssued();
          const refusal = thrown(() => session.moveTo(target));
          const ioctls = ioctlsIssued() - ioctlsBefore;
          list.expect(
            `a.strict.stop-copy-to-${target.toLowerCase().replaceAll('_', '-')}`,
            'refused rule mig.state.set.forbidden errno 0, 0 ioctls, still STOP_COPY',
            `${refusal}, ${ioctls} ioctls, still ${device.state()}`,
          );
        }

        // A second fd on the same file shows what the kernel does once the runtime ends the session.
        const kept = sys.dup(dataFd).ret;
        session.moveTo('STOP');
        list.expect(
          'a.session.stop',
          'fd closed by the runtime',
          session.dataFd < 0 ? 'fd closed by the runtime' : 'fd open',
        );
        list.expect('a.session.read-after-session', 'ENODEV', outcome(sys.read(kept, Buffer.alloc(8))));
        sys.close(kept);
      } finally {
        session.close();
      }

      // Direct mode (as QEMU): RUNNING → STOP_COPY in one request gives all 96 bytes at once.
      const direct = MigrationSession.open(device, { mode: 'direct' });
      try {
        direct.moveTo('RUNNING');
        const stepsBefore = direct.report.steps.length;
        direct.moveTo('STOP_COPY');
        list.expect(
          'a.direct.stop-copy',
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
        'a.strict.set-error',
        'refused rule mig.state.set.invalid errno 0',
        thrown(() => strict.moveTo('ERROR')),
      );
      strict.close();
      list.expect('a.raw.set-99', 'EINVAL RUNNING', `${outcome(setState(device.fd, 99).result)} ${device.state()}`);
    }),
  );

  await list.step('a.session.destination', () =>
    withDevice(destinationByParts, (device) => {
      const session = MigrationSession.open(device);
      try {
        session.moveTo('RESUMING');
        const fd = session.dataFd;
        list.expect(
          'a.resume.states',
          'RUNNING>RUNNING_P2P>STOP>RESUMING resuming fd',
          `${walked(session.report)} ${session.dataFdDirection} fd`,
        );
        list.expect('a.resume.read', 'EBADF', outcome(sys.read(fd, Buffer.alloc(8))));
        list.expect('a.resume.pwrite', 'ESPIPE', outcome(sys.pwrite(fd, Buffer.alloc(8), 0)));
        const header = outcome(sys.write(fd, stream.subarray(0, 24)));
        const body = outcome(sys.write(fd, stream.subarray(24)));
        list.expect('a.resume.write', '24,72', `${header},${body}`);
        list.expect('a.resume.write-past-end', 'ENOMEM', outcome(sys.write(fd, Buffer.alloc(1))));
        session.moveTo('RUNNING');
        list.expect('a.resume.running', 'RUNNING', device.state());

        // A corrupt header: EFAULT, then the kernel refuses to leave RESUMING; the runtime recovers by reset.
        session.moveTo('RESUMING');
        list.expect('a.corrupt.write', 'EFAULT', outcome(sys.write(session.dataFd, Buffer.alloc(24, 0xee))));
        const failure = thrown(() => session.moveTo('RUNNING'));
        const recovery = session.report.recoveries.at(-1);
        list.expect(
          'a.corrupt.leave-resuming',
          'kernel rule mig.state.error_reset EINVAL; stayed RESUMING, reset, now RUNNING',
          `${failure}; stayed ${recovery?.observed}, ${recovery?.action}, now ${device.state()}`,
        );
      } finally {
        session.close();
      }
    }),
  );
}

/** One check per conformance rule: a failure or a stale known-failure entry fails it. */
function addConformanceResults(list: CheckList, conform: CliRun): void {
  const results = (cliField(conform, 'results') ?? []) as {
    rule: string;
    status: string;
    why?: string;
    mismatches: { what: string; expected: string; observed: string }[];
  }[];
  if (!list.expect('a.conform.report', 'rule results', results.length ? 'rule results' : conform.stderr.slice(0, 200)))
    return;
  for (const result of results) {
    const first = result.mismatches[0];
    list.add({
      id: `a.conform.${result.rule}`,
      expected: result.status === 'expected-fail' ? 'XFAIL (listed)' : result.status === 'skip' ? 'skip' : 'pass',
      observed: first ? `${result.status}: ${first.observed} (${first.what})` : result.status,
      pass: result.status !== 'fail' && result.status !== 'stale',
      ...(result.why ? { note: result.why } : {}),
    });
  }
  const summary = cliField(conform, 'summary') as Record<string, number> | undefined;
  if (summary)
    list.expect(
      'a.conform.summary',
      'fail 0 stale 0',
      `fail ${summary.fail} stale ${summary.stale}`,
      `pass ${summary.pass}, XFAIL ${summary.expectedFail}, skip ${summary.skip}`,
    );
}
