/**
 * The suite's mutation test: each quirk of the emulator breaks the uAPI in one known way, and the report
 * must name a rule that catches it. A quirk no rule catches is a hole in the suite — unless the quirk is
 * legal behaviour, marked so below with the reason: the suite must then pass it, and only note it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUIRK_BREAKS, QUIRKS, type QuirkName } from '../../runtime/emulator/index.js';
import type { Device } from '../../runtime/device/device.js';
import { byStatus, conform, openEmulated } from './helpers.js';

type Expectation = { caughtBy: string } | { legal: string; notedUnder: string; note: RegExp };

/** What the suite must report for each quirk (mlx5: PRE_COPY, P2P, dirty data and large streams). */
const EXPECTED: Record<QuirkName, Expectation> = {
  'enomsg-in-stop-copy': { caughtBy: 'stream.eof' },
  'precopy-info-in-stop-copy': { caughtBy: 'precopy.valid_states' },
  'dirty-bytes-always-zero': { caughtBy: 'precopy.temporary_end' },
  'no-precopy-info': { caughtBy: 'precopy.mandatory' },
  'wrong-argsz-writeback': { caughtBy: 'struct.argsz' },
  'interior-fd': { caughtBy: 'mig.state.set.fd' },
  // The failed arc is a valid request that did not succeed; the ERROR it leaves is allowed (error_reset).
  'transition-eio': { caughtBy: 'mig.state.set.fd' },
  'resume-rejects': { caughtBy: 'stream.resume' },
  'short-reads': {
    legal: 'read() on a stream may return fewer bytes than asked; no rule requires full reads',
    notedUnder: 'stream.eof',
    note: /short reads: legal/,
  },
};

let devices: Device[];
beforeAll(async () => {
  devices = await openEmulated(QUIRKS.map((q) => `emulated:mlx5+${q}`));
});
afterAll(async () => {
  for (const d of devices ?? []) await d.close();
});

it("has an expectation for every quirk the emulator offers, agreeing with the emulator's own table", () => {
  expect(Object.keys(EXPECTED).sort()).toEqual([...QUIRKS].sort());
  for (const q of QUIRKS) {
    const e = EXPECTED[q];
    expect(QUIRK_BREAKS[q], q).toEqual('caughtBy' in e ? { breaks: e.caughtBy } : { legal: expect.any(String) });
  }
});

describe.each(QUIRKS.map((q, i) => [q, i] as const))('emulated:mlx5+%s', (quirk, i) => {
  const e = EXPECTED[quirk];
  it('caughtBy' in e ? `fails ${e.caughtBy}` : `passes (legal: ${e.legal}), with a note`, async () => {
    const report = await conform(devices[i]!, { knownFailuresOf: 'emulated-mlx5' });
    const failing = byStatus(report, 'fail', 'warn');
    console.log(`${quirk}: ${failing.join(', ') || 'no failure'}`);
    if ('caughtBy' in e) {
      expect(failing).toContain(e.caughtBy);
      const result = report.results.find((r) => r.rule === e.caughtBy)!;
      expect(result.mismatches.length).toBeGreaterThan(0);
      expect(result.mismatches[0]!.calls.length).toBeGreaterThan(0); // the calls that showed it
    } else {
      expect(failing).toEqual([]);
      expect(report.results.find((r) => r.rule === e.notedUnder)!.notes.join('\n')).toMatch(e.note);
    }
  });
});

it('precopy-info-in-stop-copy answers where the ioctl must be refused: a FAIL, not a warning, although the errno is a should', async () => {
  const i = QUIRKS.indexOf('precopy-info-in-stop-copy');
  const report = await conform(devices[i]!, { only: ['precopy.valid_states'] });
  const r = report.results.find((x) => x.rule === 'precopy.valid_states')!;
  expect(r.status).toBe('fail');
  expect(r.mismatches.some((m) => m.strength === undefined && m.observed === 'success')).toBe(true);
});
