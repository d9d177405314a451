// Route B: the real VFIO core and vfio-pci on Linux 6.1, with QEMU's edu device (no migration driver).
import { CheckList } from './check.js';
import {
  checkExtension,
  deviceFd,
  deviceInfo,
  deviceReset,
  feature,
  featureFlags,
  features,
  iommuGroupOf,
  listDir,
  openContainer,
  outcome,
  regionInfo,
  regionRead,
  regionWrite,
} from './vfio-ops.js';

const vfioPciDriver = '/sys/bus/pci/drivers/vfio-pci';
const eduIdentification = 0x010000ed;
const eduLiveness = 4;
const deviceFlagPci = 2;
const unknownFlagBit = 1 << 20;

export function runEduChecks(list: CheckList): void {
  const bound = listDir(vfioPciDriver).filter((name) => /^[0-9a-f]{4}:/.test(name));
  if (!list.expect('b.bound-devices', '2 edu on vfio-pci', `${bound.length} edu on vfio-pci`)) return;
  // The device on bus 00 sits on the root bus; the other one is behind the root port.
  const rootBus = bound.find((bdf) => bdf.startsWith('0000:00:')) ?? '';
  const behindPort = bound.find((bdf) => bdf !== rootBus) ?? '';
  const session = openContainer([rootBus, behindPort].map((bdf) => iommuGroupOf(`/sys/bus/pci/devices/${bdf}`)));
  list.expect('b.open.api-version', '0', outcome(session.apiVersion));
  list.expect(
    'b.open.extensions-1-3-8',
    '1/1/0',
    [1, 3, 8].map((e) => outcome(checkExtension(session.container, e))).join('/'),
  );
  list.expect('b.open.group-status', '1 then 3', `${session.groupStatusBefore} then ${session.groupStatusAfter}`);
  list.expect('b.open.set-iommu', '0', outcome(session.setIommu));
  const devices = [
    { label: 'root-bus', device: deviceFd(session.groups[0] ?? -1, rootBus), flags: deviceFlagPci, reset: 'EINVAL' },
    {
      label: 'behind-port',
      device: deviceFd(session.groups[1] ?? -1, behindPort),
      flags: deviceFlagPci | 1,
      reset: '0',
    },
  ];

  for (const { label, device, flags, reset } of devices) {
    list.step(`b.${label}`, () => {
      const info = deviceInfo(device);
      list.expect(
        `b.${label}.device-info`,
        `0 argsz 24 regions 9 irqs 5 flags ${flags}`,
        `${outcome(info.result)} argsz ${info.argsz} regions ${info.numRegions} irqs ${info.numIrqs} flags ${info.flags}`,
      );
      const bar0 = regionInfo(device, 0);
      list.expect(
        `b.${label}.bar0-info`,
        '0 size 1048576 flags 7',
        `${outcome(bar0.result)} size ${bar0.size} flags ${bar0.flags}`,
      );
      list.expect(
        `b.${label}.bar0-id`,
        `0x${eduIdentification.toString(16)}`,
        `0x${regionRead(device, bar0, 0, 4).toString(16)}`,
      );
      const written = 0x12345678;
      regionWrite(device, bar0, eduLiveness, 4, written);
      const inverted = (~written >>> 0).toString(16);
      list.expect(
        `b.${label}.bar0-liveness`,
        `0x${inverted}`,
        `0x${regionRead(device, bar0, eduLiveness, 4).toString(16)}`,
      );
      list.expect(`b.${label}.reset`, reset, outcome(deviceReset(device)));
    });
  }

  const device = devices[1]?.device ?? -1;
  list.step('b.feature', () => {
    const { get, set, probe } = featureFlags;
    const cases: [string, number, string, number?][] = [
      ['b.feature.probe-get-migration', probe | get | features.migration, 'ENOTTY'],
      ['b.feature.get-migration', get | features.migration, 'ENOTTY'],
      ['b.feature.probe-migration', probe | features.migration, 'ENOTTY'],
      ['b.feature.unknown-flag-bit', unknownFlagBit | get | features.migration, 'EINVAL'],
      ['b.feature.get-and-set-without-probe', get | set | features.migration, 'EINVAL'],
      ['b.feature.argsz-4', get | features.migration, 'EINVAL', 4],
      ['b.feature.get-mig-device-state', get | features.migDeviceState, 'ENOTTY'],
      ['b.feature.get-mig-data-size', get | features.migDataSize, 'ENOTTY'],
      ['b.feature.probe-set-vf-token', probe | set | features.pciVfToken, 'ENOTTY'],
      ['b.feature.probe-set-low-power-entry', probe | set | features.lowPowerEntry, '0'],
    ];
    for (const [id, flags, expected, argsz] of cases) {
      list.expect(id, expected, outcome(feature(device, flags, 8, argsz ?? 16).result));
    }
  });
  return;
}
