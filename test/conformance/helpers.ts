/** Shared by the conformance tests: open emulated devices (one emulator per test file) and run the suite. */
import { openDevices } from '../../runtime/device/open.js';
import type { Device } from '../../runtime/device/device.js';
import {
  generatedSpecData,
  knownFailuresPathFor,
  loadKnownFailures,
  runConformance,
  type Report,
  type SpecData,
} from '../../runtime/conformance/index.js';

export async function openEmulated(specs: string[], stateSize = 1 << 20): Promise<Device[]> {
  return openDevices(specs, { stateSize });
}

export async function conform(
  device: Device,
  opts: { spec?: SpecData; only?: string[]; knownFailuresOf?: string } = {},
): Promise<Report> {
  return runConformance({
    deviceFd: device.fd,
    device: device.id.spec,
    spec: opts.spec ?? generatedSpecData(),
    only: opts.only,
    knownFailures: opts.knownFailuresOf ? loadKnownFailures(knownFailuresPathFor(opts.knownFailuresOf)) : null,
    options: { emulated: true },
    access: device.emulator
      ? {
          container: device.emulator.handle.containerPath,
          iommufd: device.emulator.handle.iommufdPath,
          group: device.emulator.device.groupPath,
          cdev: device.emulator.device.cdevPath,
        }
      : undefined,
  });
}

/** Rules by status, for assertions that print well. */
export function byStatus(report: Report, ...statuses: string[]): string[] {
  return report.results.filter((r) => statuses.includes(r.status)).map((r) => r.rule);
}
