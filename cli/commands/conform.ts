import { choice, DEVICE, DEVICE_OPTIONS, flag, integer, list, parseCommandLine, text } from '../options.js';
import type { Command } from '../command.js';
import { uapiTools } from '../tools.js';
import { prestartEmulator } from '../prestart.js';
import { interruptSignal } from '../process-guard.js';

const OPTIONS = {
  ...DEVICE_OPTIONS,
  only: list('judge only this rule, or every rule under this prefix (repeatable)', { arg: 'RULE' }),
  'known-failures': text('rules the driver is known to break (a file, or auto)', { arg: 'FILE' }),
  spec: text('judge by another spec module', { arg: 'MODULE' }),
  yes: flag('required for a real device: it will be reset and put through every migration state'),
  'with-forbidden': flag('also issue the requests the spec forbids on a real device'),
  'forbidden-timeout': integer('how long a forbidden request may take before it counts as hung, in ms', {
    min: 1,
    max: 3_600_000,
    arg: 'MS',
  }),
  verbose: flag('show notes and expected failures in detail'),
  format: choice(['text', 'json', 'ktap'] as const, 'text, json (as --json) or ktap (KTAP version 1, for a kernel CI)'),
};

const conform: Command = {
  summary: 'judge a device against every rule of the migration uAPI spec; one result per rule',
  usage: `vfio-uapi conform DEVICE [--json | --format text|json|ktap] [--only RULE…] [--known-failures FILE]
                         [--spec MODULE] [--yes] [--with-forbidden] [--forbidden-timeout MS] [--verbose]

  DEVICE               a path (/dev/vfio/devices/vfioN, /dev/vfio/GROUP:DEVICE) or emulated:PERSONALITY[+QUIRK…]
  --format F           text (default: one line per rule as it is judged), json (the whole report, as --json), or
                       ktap: KTAP version 1 as kselftests print it (ok/not ok per rule, # SKIP and # XFAIL with
                       the reason, mismatches as # lines, kselftest's # Totals line), for a kernel CI
  --only RULE          judge only this rule, or every rule under this prefix (repeatable: --only stream --only precopy)
  --known-failures F   rules the driver is known to break, one "RULE-ID  reason" per line; they become XFAIL,
                       and STALE when they pass. \`auto\` picks the committed list for the personality or, through
                       sysfs, the driver (runtime/conformance/known-failures/: mtty, hisi_acc, mlx5, emulated-*),
                       plus debian-kernel.txt on a Debian kernel (what its builds break whatever the driver)
  --spec MODULE        judge by another spec module (e.g. examples/uapi-history/rfc-2022/index.ts); calls are
                       still encoded with the generated bindings, only the rules change
  --yes                required for a real device: it will be reset and put through every migration state
  --with-forbidden     also issue the requests the spec forbids (STOP_COPY → PRE_COPY*) on a real device, in a
                       child process that is left behind on timeout (emulated devices always get them, from a
                       worker thread). Kernels before 7.2 (6.12 before 6.12.96) never return from them, fixed ones
                       answer EINVAL (a26b499b757c): a release the spec's version data says loops is not sent
                       them, the rule is skipped naming the fix
  --verbose            show notes and expected failures in detail

real devices: the access-path rules (group.*, container.*, cdev.*, iommufd.*) open the device's own nodes afresh,
with the device closed meanwhile (the kernel binds a device through one cdev open at a time); the nodes the
kernel lacks are named in the skip (no /dev/iommu without CONFIG_IOMMUFD, ...).

statuses: PASS, FAIL (a must rule broken), WARN (a should rule broken, or an estimate outside a tolerance the
text states; estimates are reported as measured accuracy and otherwise pass), XFAIL (broken, as the known-failure
list says), STALE (listed as failing but passed, or listed but unknown), SKIP (does not apply: capability
absent, with why), NONE (the spec has the rule but the suite no check yet)

exit codes:
  0  no unexpected failure (WARN, XFAIL, SKIP and NONE do not fail the run)
  1  a FAIL, or a STALE known-failure entry
  2  bad usage (including a real device without --yes)
  3  the device cannot be opened
  4  the device does not support migration
  130, 143  stopped by SIGINT or SIGTERM: the run ends after the check in progress, which leaves the device reset
            (RUNNING, no data fd open); a second signal ends the process at once`,
  async run(args) {
    prestartEmulator(args);
    const s = await import('../support.js');
    // Known before the options are parsed, so that a usage error is printed in the format asked for.
    const json = args.includes('--json') || args.includes('--format=json') || args.join(' ').includes('--format json');
    let device: import('../../runtime/device/device.js').Device | null = null;
    try {
      const { values, positionals } = parseCommandLine(args, OPTIONS, [DEVICE]);
      if (values.json && values.format && values.format !== 'json')
        throw new s.UsageError(`--json and --format ${values.format} contradict each other; give one`);
      const format = values.json ? 'json' : (values.format ?? 'text');
      const target = positionals[0]!;
      const emulated = target.startsWith('emulated:');
      if (!emulated && !values.yes)
        throw new s.UsageError(
          `${target} is a real device: it will be reset and put through every migration state; pass --yes to go ahead`,
        );
      const c = await import('../../runtime/conformance/index.js');
      let spec = c.generatedSpecData();
      if (values.spec) {
        spec = c.specDataFromIr(await (await uapiTools('--spec')).loadSpec(values.spec, { docs: false }), values.spec);
      }
      const knownOption = values['known-failures'] ?? null;
      const knownPaths =
        knownOption === 'auto' ? c.knownFailuresPathsForDevice(target) : knownOption ? [knownOption] : [];
      const known = knownPaths.length ? c.mergeKnownFailures(knownPaths.map((p) => c.loadKnownFailures(p))) : null;
      // SIGINT/SIGTERM stop the run between two checks (the device reset after each), exit 130/143.
      const signal = interruptSignal();
      const { openDevice } = await import('../../runtime/device/open.js');
      const { kernelRelease, describeKernel } = await import('../../runtime/kernel-release.js');
      // The kernel that answers: the running one for a real device; the emulator answers for an emulated one.
      const kernel = emulated ? null : kernelRelease();
      device = await openDevice(target, s.emulatorOptions(values));
      if (format === 'text')
        console.log(
          `conformance of ${target}, judged by ${spec.label}${known ? `, known failures from ${known.source}` : ''}` +
            `${kernel ? `, kernel ${describeKernel(kernel)}` : ''}`,
        );
      const realAccess = emulated ? null : c.accessPathsOfDevice(target);
      const report = await c.runConformance({
        deviceFd: device.fd,
        device: target,
        spec,
        only: values.only.length ? values.only : undefined,
        access: device.emulator
          ? {
              container: device.emulator.handle.containerPath,
              iommufd: device.emulator.handle.iommufdPath,
              group: device.emulator.device.groupPath,
              cdev: device.emulator.device.cdevPath,
            }
          : (realAccess ?? undefined),
        exclusive: realAccess
          ? {
              release: async () => {
                await device?.close();
                device = null;
              },
              reopen: async () => {
                device = await openDevice(target, s.emulatorOptions(values));
                return device.fd;
              },
            }
          : undefined,
        knownFailures: known,
        options: {
          emulated,
          kernel,
          withForbidden: values['with-forbidden'],
          ...(values['forbidden-timeout'] !== undefined ? { forbiddenTimeoutMs: values['forbidden-timeout'] } : {}),
        },
        onResult: format === 'text' ? (r) => console.log(c.formatResult(r, values.verbose)) : undefined,
        signal,
      });
      if (kernel) report.kernel = describeKernel(kernel);
      if (json) console.log(JSON.stringify(report));
      else if (format === 'ktap') console.log(c.formatKtap(report, kernel ? [`kernel ${describeKernel(kernel)}`] : []));
      else {
        console.log(`capabilities: ${report.capabilities ?? 'no migration'}`);
        console.log(c.formatSummary(report));
      }
      if (report.capabilities === null) return s.EXIT_CODES.noMigration;
      return c.exitCodeOf(report);
    } catch (e) {
      return s.reportError('conform', e, json);
    } finally {
      await device?.close();
    }
  },
};
export default conform;
