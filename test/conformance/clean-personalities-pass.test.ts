/**
 * Every clean emulated personality passes every rule that applies to it; the only deviations are the
 * ones its known-failure list announces (mtty and hisi-acc end pre-copy data with read() == 0, a `should`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Device } from '../../runtime/device/device.js';
import { generatedSpecData, parseKnownFailures, runConformance } from '../../runtime/conformance/index.js';
import { byStatus, conform, openEmulated } from './helpers.js';

const PERSONALITIES = ['mtty', 'hisi-acc', 'mlx5'] as const;
let devices: Device[];

beforeAll(async () => {
  devices = await openEmulated(PERSONALITIES.map((p) => `emulated:${p}`));
});
afterAll(async () => {
  for (const d of devices ?? []) await d.close();
});

describe.each(PERSONALITIES.map((p, i) => [p, i] as const))('emulated %s', (personality, i) => {
  it('passes every applicable rule, its known failures aside', async () => {
    const report = await conform(devices[i]!, { knownFailuresOf: `emulated-${personality}` });
    console.log(
      `conform emulated:${personality}: ${report.summary.pass} pass, ${report.summary.skip} skipped, ${report.ms} ms`,
    );
    expect(byStatus(report, 'fail', 'warn', 'stale', 'no-check')).toEqual([]);
    // Skips say why, and are only about capabilities the device lacks or the access path.
    for (const r of report.results.filter((x) => x.status === 'skip')) expect(r.why).toBeTruthy();
  });

  it('without its list, only the announced `should` deviations show, as warnings', async () => {
    const report = await conform(devices[i]!, { only: ['stream'] });
    expect(byStatus(report, 'warn')).toEqual(personality === 'mlx5' ? [] : ['stream.enomsg']);
    expect(byStatus(report, 'fail')).toEqual([]);
  });
});

describe('judging machinery', () => {
  it('a known failure that passes is reported stale, and fails the run', async () => {
    const report = await runConformance({
      deviceFd: devices[2]!.fd,
      device: 'emulated:mlx5',
      spec: generatedSpecData(),
      only: ['stream.eof'],
      knownFailures: parseKnownFailures('stream.eof  pretend it breaks\n', 'inline'),
      options: { emulated: true },
    });
    expect(report.results.map((r) => [r.rule, r.status])).toEqual([['stream.eof', 'stale']]);
    expect(report.summary.stale).toBe(1);
  });

  it('a rule the suite has no check for is reported, not dropped', async () => {
    const spec = generatedSpecData();
    spec.rules['stream.brand_new'] = { id: 'stream.brand_new', since: '9.9', strength: 'must', kind: 'behaviour' };
    const report = await runConformance({
      deviceFd: devices[2]!.fd,
      device: 'emulated:mlx5',
      spec,
      only: ['stream.brand_new'],
      options: { emulated: true },
    });
    expect(report.results.map((r) => [r.rule, r.status])).toEqual([['stream.brand_new', 'no-check']]);
  });

  it('every rule of the committed spec gets a result', async () => {
    const report = await conform(devices[0]!, { only: ['mig.state.get', 'feature'] });
    const spec = generatedSpecData();
    const wanted = Object.keys(spec.rules).filter((id) => id === 'mig.state.get' || id.startsWith('feature.'));
    expect(report.results.map((r) => r.rule)).toEqual(wanted);
  });
});
