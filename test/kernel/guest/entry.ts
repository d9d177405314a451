// Guest entry, bundled to build/kernel-guest/entry.mjs and run by the guest's /init with the host's node.
// Usage: node entry.mjs <mtty|edu|hang> <results.json>
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CheckList, type GuestResults } from './check.js';
import { runEduChecks } from './checks-edu.js';
import { runHangCheck, triggerHang } from './checks-hang.js';
import { runMttyChecks } from './checks-mtty.js';

async function runSuite(suite: string, list: CheckList): Promise<void> {
  if (suite === 'mtty') return runMttyChecks(list);
  if (suite === 'edu') return runEduChecks(list);
  if (suite === 'hang') return runHangCheck(list, fileURLToPath(import.meta.url));
  throw new Error(`unknown suite ${suite}`);
}

async function main(): Promise<void> {
  const [suite = '', resultsFile] = process.argv.slice(2);
  if (suite === 'hang-trigger') return triggerHang();
  const list = new CheckList();
  const results: GuestResults = { suite, checks: list.checks };
  try {
    await runSuite(suite, list);
  } catch (error) {
    // Checks gathered before the exception are still reported.
    results.error = (error as Error).stack ?? String(error);
  }
  if (resultsFile) writeFileSync(resultsFile, JSON.stringify(results, null, 2));
  console.log(`guest ${suite}: ${list.checks.filter((c) => c.pass).length}/${list.checks.length} passed`);
  process.exit(0);
}

await main();
