// Route B: the real VFIO core and vfio-pci on Linux 6.1, with QEMU's edu device (no migration driver).
// The runtime opens both devices (container/group/type1v2), reads their info, resets them and reports that
// they cannot migrate; the `vfio-uapi` command says the same with its exit codes. The feature-header checks
// stay raw: they send headers the runtime never sends, to see the kernel's errno.
import { isVfioError, openDevice, type Device } from '../../../runtime/index.js';
import { CheckList } from './check.js';
import { exitSummary, runCli } from './cli-runner.js';
import {
  checkExtension,
  feature,
  featureFlags,
  features,
  iommuGroupOf,
  listDir,
  outcome,
  regionInfo,
  regionRead,
  regionWrite,
  sys,
} from './vfio-ops.js';

const vfioPciDriver = '/sys/bus/pci/drivers/vfio-pci';
const eduIdentification = 0x010000ed;
const eduLiveness = 4;
const unknownFlagBit = 1 << 20;

function failureOf(body: () => unknown): string {
  try {
    body();
    return 'ok';
  } catch (error) {
    return isVfioError(error) ? `${error.kind} ${error.errnoName ?? 'errno 0'}` : `non-VfioError ${error}`;
  }
}

export async function runEduChecks(list: CheckList): Promise<void> {
  const bound = listDir(vfioPciDriver).filter((name) => /^[0-9a-f]{4}:/.test(name));
  if (!list.expect('open.bound-devices', '2 edu on vfio-pci', `${bound.length} edu on vfio-pci`)) return;
  // The device on bus 00 sits on the root bus; the other one is behind the root port.
  const rootBus = bound.find((bdf) => bdf.startsWith('0000:00:')) ?? '';
  const behindPort = bound.find((bdf) => bdf !== rootBus) ?? '';
  const pathOf = (bdf: string) => `/dev/vfio/${iommuGroupOf(`/sys/bus/pci/devices/${bdf}`)}:${bdf}`;

  // A container without groups still answers CHECK_EXTENSION: type1, type1v2 and (absent) no-IOMMU.
  const container = sys.open('/dev/vfio/vfio').ret;
  list.expect(
    'open.container.extensions-1-3-8',
    '1/1/0',
    [1, 3, 8].map((e) => outcome(checkExtension(container, e))).join('/'),
  );
  sys.close(container);

  const devices = [
    { label: 'root-bus', path: pathOf(rootBus), flags: 'PCI', reset: 'kernel EINVAL' },
    { label: 'behind-port', path: pathOf(behindPort), flags: 'PCI|RESET', reset: 'ok' },
  ];
  for (const { label, path, flags, reset } of devices) {
    await list.step(`open.${label}`, async () => {
      const device: Device = await openDevice(path);
      try {
        list.expect(`open.${label}.open`, 'group access', `${device.id.access} access`);
        const info = device.info();
        const flagNames = [info.flags & 2 ? 'PCI' : '', info.flags & 1 ? 'RESET' : ''].filter(Boolean).join('|');
        list.expect(
          `open.${label}.info`,
          `regions 9 irqs 5 flags ${flags}`,
          `regions ${info.num_regions} irqs ${info.num_irqs} flags ${flagNames}`,
        );
        const bar0 = regionInfo(device.fd, 0);
        list.expect(
          `open.${label}.bar0-info`,
          '0 size 1048576 flags 7',
          `${outcome(bar0.result)} size ${bar0.size} flags ${bar0.flags}`,
        );
        list.expect(
          `open.${label}.bar0-id`,
          `0x${eduIdentification.toString(16)}`,
          `0x${regionRead(device.fd, bar0, 0, 4).toString(16)}`,
        );
        const written = 0x12345678;
        regionWrite(device.fd, bar0, eduLiveness, 4, written);
        list.expect(
          `open.${label}.bar0-liveness`,
          `0x${(~written >>> 0).toString(16)}`,
          `0x${regionRead(device.fd, bar0, eduLiveness, 4).toString(16)}`,
        );
        list.expect(`migration.${label}.none`, 'null', String(device.migration()));
        list.expect(
          `open.${label}.reset`,
          reset,
          failureOf(() => device.reset()),
        );
      } finally {
        await device.close();
      }
    });
  }

  const target = devices[1]!.path;
  await list.step('migration.runtime.no-migration', async () => {
    const device = await openDevice(target);
    try {
      const absent = device
        .features()
        .filter((f) => !f.present && ['MIGRATION', 'MIG_DEVICE_STATE', 'MIG_DATA_SIZE'].includes(f.short))
        .map((f) => `${f.short} ${f.errno}`);
      list.expect(
        'migration.runtime.features-absent',
        'MIGRATION ENOTTY,MIG_DEVICE_STATE ENOTTY,MIG_DATA_SIZE ENOTTY',
        absent.join(','),
      );
      let refusal = 'no error';
      try {
        device.requireMigration();
      } catch (error) {
        refusal = isVfioError(error) ? `${error.kind}: ${error.message}` : String(error);
      }
      list.expect(
        'migration.runtime.require-migration',
        `no-migration: ${target} does not support migration (VFIO_DEVICE_FEATURE_MIGRATION: ENOTTY)`,
        refusal,
      );

      // Headers the runtime never sends, to see what the real core answers.
      const { get, set, probe } = featureFlags;
      const cases: [string, number, string, number?][] = [
        ['feature.probe-get-migration', probe | get | features.migration, 'ENOTTY'],
        ['feature.get-migration', get | features.migration, 'ENOTTY'],
        ['feature.probe-migration', probe | features.migration, 'ENOTTY'],
        ['feature.unknown-flag-bit', unknownFlagBit | get | features.migration, 'EINVAL'],
        ['feature.get-and-set-without-probe', get | set | features.migration, 'EINVAL'],
        ['feature.argsz-4', get | features.migration, 'EINVAL', 4],
        ['feature.get-mig-device-state', get | features.migDeviceState, 'ENOTTY'],
        ['feature.get-mig-data-size', get | features.migDataSize, 'ENOTTY'],
        ['feature.probe-set-vf-token', probe | set | features.pciVfToken, 'ENOTTY'],
        ['feature.probe-set-low-power-entry', probe | set | features.lowPowerEntry, '0'],
      ];
      for (const [id, flags, expected, argsz] of cases) {
        list.expect(id, expected, outcome(feature(device.fd, flags, 8, argsz ?? 16).result));
      }
    } finally {
      await device.close();
    }
  });

  const info = runCli(['info', target, '--json']);
  const infoJson = info.json ?? {};
  list.expect(
    'migration.cli.info',
    'exit 0 group migration null',
    `${exitSummary(info)} ${infoJson.access} migration ${JSON.stringify(infoJson.migration)}`,
  );
  const save = runCli(['save', target, '/dev/null', '--json']);
  list.expect('migration.cli.save-refused', 'exit 4 no-migration', `exit ${save.exitCode} ${save.json?.kind}`);
}
