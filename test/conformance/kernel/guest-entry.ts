// Runs `conform` on the first mtty mdev inside the 6.12 guest and reports one guest check per rule.
// Bundled to build/conformance-guest/entry.mjs (two levels below the repository, so the suite finds
// generated/ir.json where it expects it) and started by the guest's /init like test/kernel's entry.
import { readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { openDevice } from '../../../runtime/device/open.js';
import {
  generatedSpecData,
  loadKnownFailures,
  runConformance,
  formatResult,
  formatSummary,
} from '../../../runtime/conformance/index.js';

const mdevRoot = '/sys/bus/mdev/devices';
const [, resultsFile] = process.argv.slice(2);
const checks: { id: string; expected: string; observed: string; pass: boolean; note?: string }[] = [];
let error: string | undefined;
try {
  const uuid = readdirSync(mdevRoot).sort()[0]!;
  const group = basename(readlinkSync(`${mdevRoot}/${uuid}/iommu_group`));
  const device = await openDevice(`/dev/vfio/${group}:${uuid}`);
  const report = await runConformance({
    deviceFd: device.fd,
    device: `mtty ${uuid}`,
    spec: generatedSpecData(),
    // Bundled, this file sits in build/conformance-guest/: name the list from the repository root.
    knownFailures: loadKnownFailures(
      new URL('../../runtime/conformance/known-failures/mtty.txt', import.meta.url).pathname,
    ),
    options: { emulated: false, withForbidden: false },
  });
  for (const r of report.results) {
    console.log(formatResult(r));
    const first = r.mismatches[0];
    checks.push({
      id: `conform.${r.rule}`,
      expected: first ? first.expected : r.status === 'skip' ? 'skip' : 'pass',
      observed: first
        ? `${r.status}: ${first.observed} (${first.what}; ${first.calls.slice(-3).join(' | ')})`
        : r.status,
      pass: r.status !== 'fail' && r.status !== 'stale',
      ...(r.why ? { note: r.why } : {}),
    });
  }
  console.log(formatSummary(report));
  await device.close();
} catch (e) {
  error = (e as Error).stack ?? String(e);
}
if (resultsFile) writeFileSync(resultsFile, JSON.stringify({ suite: 'conform-mtty', checks, error }, null, 2));
process.exit(0);
