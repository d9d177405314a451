import { DEVICE, DEVICE_OPTIONS, flag, integer, list, parseCommandLine, text } from '../options.js';
import type { Command } from '../command.js';
import { uapiTools } from '../tools.js';

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
};

const conform: Command = {
  summary: 'judge a device against every rule of the migration uAPI spec; one result per rule',
  usage: `vfio-uapi conform DEVICE [--json] [--only RULE…] [--known-failures FILE] [--spec MODULE]
                         [--yes] [--with-forbidden] [--forbidden-timeout MS] [--verbose]

  DEVICE               a path (/dev/vfio/devices/vfioN, /dev/vfio/GROUP:DEVICE) or emulated:PERSONALITY[+QUIRK…]
  --only RULE          judge only this rule, or every rule under this prefix (repeatable: --only stream --only precopy)
  --known-failures F   rules the driver is known to break, one "RULE-ID  reason" per line; they become XFAIL,
                       and STALE when they pass. \`auto\` picks the committed list for the personality or, through
                       sysfs, the driver (runtime/conformance/known-failures/: mtty, hisi_acc, mlx5, emulated-*)
  --spec MODULE        judge by another spec module (e.g. examples/uapi-history/rfc-2022/index.ts); calls are
                       still encoded with the generated bindings, only the rules change
  --yes                required for a real device: it will be reset and put through every migration state
  --with-forbidden     also issue the requests the spec forbids (STOP_COPY → PRE_COPY*) on a real device; kernels
                       before 7.2 (6.12 before 6.12.96) never return from them, fixed ones answer EINVAL
                       (a26b499b757c), so they run in a child process that is left behind on timeout
                       (emulated devices always get them, from a worker thread)
  --verbose            show notes and expected failures in detail

statuses: PASS, FAIL (a must rule broken), WARN (a should rule broken, or an estimate outside a tolerance the
text states; estimates are reported as measured accuracy and otherwise pass), XFAIL (broken, as the known-failure
list says), STALE (listed as failing but passed, or listed but unknown), SKIP (does not apply: capability
absent, with why), NONE (the spec has the rule but the suite no check yet)

exit codes:
  0  no unexpected failure (WARN, XFAIL, SKIP and NONE do not fail the run)
  1  a FAIL, or a STALE known-failure entry
  2  bad usage (including a real device without --yes)
  3  the device cannot be opened
  4  the device does not support migration`,
  async run(args) {
    const s = await import('../support.js');
    const json = args.includes('--json');
    let device: import('../../runtime/device/device.js').Device | null = null;
    try {
      const { values, positionals } = parseCommandLine(args, OPTIONS, [DEVICE]);
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
      let knownPath = values['known-failures'] ?? null;
      if (knownPath === 'auto') knownPath = c.knownFailuresPathForDevice(target);
      const known = knownPath ? c.loadKnownFailures(knownPath) : null;
      const { openDevice } = await import('../../runtime/index.js');
      device = await openDevice(target, s.emulatorOptions(values));
      if (!json)
        console.log(
          `conformance of ${target}, judged by ${spec.label}${known ? `, known failures from ${known.source}` : ''}`,
        );
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
          : undefined,
        knownFailures: known,
        options: {
          emulated,
          withForbidden: values['with-forbidden'],
          ...(values['forbidden-timeout'] !== undefined ? { forbiddenTimeoutMs: values['forbidden-timeout'] } : {}),
        },
        onResult: json ? undefined : (r) => console.log(c.formatResult(r, values.verbose)),
      });
      if (json) console.log(JSON.stringify(report));
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
