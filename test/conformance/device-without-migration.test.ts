/**
 * A device without migration (emulated:nomig, after edu on vfio-pci): the suite skips every migration rule
 * because the capability is absent, and still judges the feature-header rules and PROBE on it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Device } from '../../runtime/device/device.js';
import { byStatus, conform, openEmulated } from './helpers.js';

let device: Device;
beforeAll(async () => {
  device = (await openEmulated(['emulated:nomig']))[0]!;
});
afterAll(() => device?.close());

it('skips the migration rules, checks the feature-header rules, and fails nothing', async () => {
  const report = await conform(device, { knownFailuresOf: 'emulated-nomig' });
  expect(report.capabilities).toBeNull();
  expect(byStatus(report, 'fail', 'warn', 'stale', 'no-check')).toEqual([]);
  const feature = report.results.filter((r) => r.rule.startsWith('feature.'));
  expect(feature.length).toBeGreaterThan(5);
  for (const r of feature) expect([r.rule, r.status]).toEqual([r.rule, 'pass']);
  const migration = report.results.filter((r) => /^(mig|precopy|stream|data_size)\./.test(r.rule));
  expect(migration.length).toBeGreaterThan(10);
  for (const r of migration) {
    expect([r.rule, r.status]).toEqual([r.rule, 'skip']);
    expect(r.why).toMatch(/migration|PRE_COPY/);
  }
});
