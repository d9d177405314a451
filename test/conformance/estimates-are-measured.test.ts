/**
 * Rules as strong as the text: vfio.h calls the precopy-info numbers estimates, so precopy.accounting reports
 * how close they came and fails nothing; what the text words as "should" (initial_bytes starts non-zero and
 * decreases; 0 + 0 is the temporary end) warns; nothing about the numbers is a must.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Device } from '../../runtime/device/device.js';
import { formatResult } from '../../runtime/conformance/report-text.js';
import { generatedSpecData } from '../../runtime/conformance/index.js';
import { rule } from '../../spec/dsl/index.js';
import { conform, openEmulated } from './helpers.js';

let devices: Device[];
beforeAll(async () => {
  // Exact accounting (clean mlx5), and accounting that leaves newly dirtied data out (dirty_bytes stays 0).
  devices = await openEmulated(['emulated:mlx5', 'emulated:mlx5+dirty-bytes-always-zero']);
});
afterAll(async () => {
  for (const d of devices ?? []) await d.close();
});

describe("the spec's strengths follow vfio.h's words", () => {
  it('precopy.accounting is an estimate without a stated bound; initial_bytes and temporary_end are should', () => {
    const { rules } = generatedSpecData();
    expect(rules['precopy.accounting']).toMatchObject({ strength: 'estimate', tolerance: { stated: false } });
    expect(rules['precopy.initial_bytes']!.strength).toBe('should');
    expect(rules['precopy.temporary_end']!.strength).toBe('should');
    expect(rules['stream.enomsg']!.strength).toBe('should');
    expect(rules['stream.eof']!.strength).toBe('must'); // "ENOMSG may not be returned in STOP_COPY"
    expect(rules['precopy.mandatory']!.strength).toBe('must'); // "Support for this ioctl is mandatory"
  });

  it('the DSL keeps a tolerance with estimates only', () => {
    expect(() => rule('x.y', { since: '6.2', kind: 'behaviour', strength: 'estimate' })).toThrow(/needs a tolerance/);
    expect(() =>
      rule('x.y', { since: '6.2', kind: 'behaviour', strength: 'should', tolerance: { stated: false, note: 'n' } }),
    ).toThrow(/needs strength 'estimate'/);
  });
});

describe('conformance measures estimates and fails only musts', () => {
  it('exact accounting passes and says so', async () => {
    const report = await conform(devices[0]!, { only: ['precopy.accounting'] });
    const r = report.results.find((x) => x.rule === 'precopy.accounting')!;
    expect(r.status).toBe('pass');
    expect(r.notes.join('\n')).toMatch(/round 1: initial \+ dirty predicted (\d+) B, \1 B were readable .* \(exact\)/);
    // The text report shows an estimate's measurements without --verbose.
    expect(formatResult(r)).toMatch(/^PASS  precopy\.accounting \(estimate\)\n\s+note: at the start: initial_bytes/);
  });

  it('MIG_DATA_SIZE is an estimate too: compared with what STOP_COPY streamed', async () => {
    const report = await conform(devices[0]!, { only: ['data_size.estimate'] });
    const r = report.results.find((x) => x.rule === 'data_size.estimate')!;
    expect(r.status).toBe('pass');
    expect(r.notes.join('\n')).toMatch(
      /stop_copy_length predicted (\d+) B in RUNNING, STOP_COPY then streamed \1 B \(exact\)/,
    );
  });

  it('an estimate that is off passes with its error measured; the broken "0 + 0 is the end" only warns', async () => {
    const report = await conform(devices[1]!, { only: ['precopy'] });
    const byRule = Object.fromEntries(report.results.map((r) => [r.rule, r]));
    const acc = byRule['precopy.accounting']!;
    expect(acc.status).toBe('pass');
    expect(acc.mismatches).toEqual([]);
    expect(acc.notes.join('\n')).toMatch(
      /initial \+ dirty predicted 0 B, [1-9]\d* B were readable .* \(off by \+[1-9]\d* B\)/,
    );
    expect(byRule['precopy.temporary_end']!.status).toBe('warn');
    expect(byRule['precopy.temporary_end']!.mismatches[0]!.what).toMatch(
      /bytes readable right after PRECOPY_INFO reported initial 0 \+ dirty 0/,
    );
    expect(byRule['precopy.initial_bytes']!.status).toBe('pass');
    expect(report.summary.fail).toBe(0);
  });
});

describe('precopy.valid_states: the states are a must, the errno a should (vfio.h: "should return -EINVAL")', () => {
  const judged = (otherwise: string, otherwiseStrength?: 'should') => {
    const spec = generatedSpecData();
    const r = spec.rules['precopy.valid_states']!;
    spec.rules['precopy.valid_states'] = { ...r, otherwise, ...(otherwiseStrength ? { otherwiseStrength } : {}) };
    if (!otherwiseStrength) delete spec.rules['precopy.valid_states']!.otherwiseStrength;
    return spec;
  };
  it('the committed spec words it so', () => {
    expect(generatedSpecData().rules['precopy.valid_states']).toMatchObject({
      strength: 'must',
      otherwise: 'EINVAL',
      otherwiseStrength: 'should',
    });
  });

  it('another errno outside PRE_COPY only warns when the errno is a should, and fails when it is a must', async () => {
    // The device answers EINVAL; judged by a spec that expects ENOTTY, its errno is "wrong".
    const asShould = await conform(devices[0]!, { only: ['precopy.valid_states'], spec: judged('ENOTTY', 'should') });
    const w = asShould.results.find((x) => x.rule === 'precopy.valid_states')!;
    expect(w.status).toBe('warn');
    expect(w.mismatches.every((m) => m.strength === 'should')).toBe(true);
    const asMust = await conform(devices[0]!, { only: ['precopy.valid_states'], spec: judged('ENOTTY') });
    expect(asMust.results.find((x) => x.rule === 'precopy.valid_states')!.status).toBe('fail');
  });
});
