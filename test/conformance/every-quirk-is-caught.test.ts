/**
 * The suite's mutation test: each quirk of the emulator breaks the uAPI in one known way, and the report
 * must name a rule that catches it. A quirk no rule catches is a hole in the suite. short-reads is the one
 * quirk that is legal (a stream may answer less than asked): the suite must not fail it, only note it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUIRKS, type QuirkName } from '../../runtime/emulator/api.js';
import type { Device } from '../../runtime/device/device.js';
import { byStatus, conform, openEmulated } from './helpers.js';

/** The rule that must fail for each quirk (mlx5: PRE_COPY, P2P, dirty data and large streams). */
const CAUGHT_BY: Record<QuirkName, string | null> = {
  'enomsg-in-stop-copy': 'stream.eof',
  'precopy-info-in-stop-copy': 'precopy.valid_states',
  'dirty-bytes-always-zero': 'precopy.accounting',
  'no-precopy-info': 'precopy.mandatory',
  'wrong-argsz-writeback': 'struct.argsz',
  'interior-fd': 'mig.state.set.fd',
  'transition-eio': 'mig.state.set.fd',
  'resume-rejects': 'stream.resume',
  'short-reads': null,
};

let devices: Device[];
beforeAll(async () => {
  devices = await openEmulated(QUIRKS.map((q) => `emulated:mlx5+${q}`));
});
afterAll(async () => {
  for (const d of devices ?? []) await d.close();
});

it('has an expectation for every quirk the emulator offers', () => {
  expect(Object.keys(CAUGHT_BY).sort()).toEqual([...QUIRKS].sort());
});

describe.each(QUIRKS.map((q, i) => [q, i] as const))('emulated:mlx5+%s', (quirk, i) => {
  it(CAUGHT_BY[quirk] ? `fails ${CAUGHT_BY[quirk]}` : 'passes, with a note', async () => {
    const report = await conform(devices[i]!, { knownFailuresOf: 'emulated-mlx5' });
    const failing = byStatus(report, 'fail', 'warn');
    console.log(`${quirk}: ${failing.join(', ') || 'no failure'}`);
    const rule = CAUGHT_BY[quirk];
    if (rule) {
      expect(failing).toContain(rule);
      const result = report.results.find((r) => r.rule === rule)!;
      expect(result.mismatches.length).toBeGreaterThan(0);
      expect(result.mismatches[0]!.calls.length).toBeGreaterThan(0); // the calls that showed it
    } else {
      expect(failing).toEqual([]);
      expect(report.results.find((r) => r.rule === 'stream.eof')!.notes.join('\n')).toMatch(/short reads/);
    }
  });
});
