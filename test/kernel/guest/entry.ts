// Guest entry, bundled to build/kernel-guest/entry.mjs and run by the guest's /init with the host's node.
// Usage: node entry.mjs <mtty|edu|hang> <results.json>
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheckList, type GuestResults } from './check.js';
import { runEduChecks } from './checks-edu.js';
import { runHangCheck, triggerHang } from './checks-hang.js';
import { runMttyChecks } from './checks-mtty.js';

async function runSuite(suite: string, list: CheckList, workDir: string, results: GuestResults): Promise<void> {
  if (suite === 'mtty') {
    // Route parameters come from the kernel command line, exported by /init.
    return runMttyChecks({
      list,
      workDir,
      access: process.env.vfiotest_access ?? 'group',
      iommufdDriver: process.env.vfiotest_iommufd_driver === 'y',
      results,
    });
  }
  if (suite === 'edu') return runEduChecks(list);
  if (suite === 'hang') return runHangCheck(list, fileURLToPath(import.meta.url));
  throw new Error(`unknown suite ${suite}`);
}

async function main(): Promise<void> {
  const [suite = '', resultsFile] = process.argv.slice(2);
  if (suite === 'hang-trigger') return triggerHang();
  // Guest uptime when node has loaded the bundle: the rest of the guest's time is the checks.
  console.log(`vfiotest: node ready at uptime ${readFileSync('/proc/uptime', 'utf8').split(' ')[0]} s`);
  const list = new CheckList();
  const results: GuestResults = { suite, checks: list.checks };
  // A host that kills a frozen guest still finds every check done before the freeze.
  if (resultsFile) list.persist = () => writeFileSync(resultsFile, JSON.stringify(results, null, 2));
  try {
    // The results share is the one writable place the guest has: saved states go next to results.json.
    await runSuite(suite, list, dirname(resultsFile ?? '/tmp/results.json'), results);
  } catch (error) {
    // Checks gathered before the exception are still reported.
    results.error = (error as Error).stack ?? String(error);
  }
  if (resultsFile) writeFileSync(resultsFile, JSON.stringify(results, null, 2));
  console.log(`vfiotest: checks done at uptime ${readFileSync('/proc/uptime', 'utf8').split(' ')[0]} s`);
  console.log(`guest ${suite}: ${list.checks.filter((c) => c.pass).length}/${list.checks.length} passed`);
  process.exit(0);
}

await main();
