/**
 * The same device judged by two versions of the uAPI: a device that answers PRECOPY_INFO in STOP_COPY
 * conforms to the January 2022 RFC (valid in STOP_COPY too) and breaks the merged rule (PRE_COPY* only).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadSpec, REPO_ROOT } from '../../generator/ir/load.js';
import type { Device } from '../../runtime/device/device.js';
import { generatedSpecData, specDataFromIr, type SpecData } from '../../runtime/conformance/index.js';
import { conform, openEmulated } from './helpers.js';

const RFC = `${REPO_ROOT}/examples/uapi-history/rfc-2022/index.ts`;
let devices: Device[];
let rfc: SpecData;

beforeAll(async () => {
  devices = await openEmulated(['emulated:mtty+precopy-info-in-stop-copy', 'emulated:mtty']);
  rfc = specDataFromIr(await loadSpec(RFC, { docs: false }), 'rfc-2022');
});
afterAll(async () => {
  for (const d of devices ?? []) await d.close();
});

const statusOf = async (device: Device, spec: SpecData) =>
  (await conform(device, { spec, only: ['precopy.valid_states'] })).results[0]!.status;

it('precopy-info-in-stop-copy passes the RFC rule and fails the merged one', async () => {
  expect(await statusOf(devices[0]!, rfc)).toBe('pass');
  expect(await statusOf(devices[0]!, generatedSpecData())).toBe('fail');
});

it('a clean device is the mirror image', async () => {
  expect(await statusOf(devices[1]!, rfc)).toBe('fail');
  expect(await statusOf(devices[1]!, generatedSpecData())).toBe('pass');
});

it('under the RFC, PRECOPY_INFO support is only a should and MIG_DATA_SIZE has no rules', async () => {
  const report = await conform(devices[0]!, { spec: rfc, knownFailuresOf: 'emulated-mtty' });
  expect(report.results.find((r) => r.rule === 'precopy.mandatory')!.strength).toBe('should');
  expect(report.results.some((r) => r.rule.startsWith('data_size.'))).toBe(false);
  expect(report.summary.fail).toBe(0);
});
