// Runs the VFIO checks inside real Linux guests under QEMU.
// Usage: node --import tsx test/kernel/run.ts [--route a|b] [--with-hang]
import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { PackagesUnavailable } from './fetch.js';
import { hasCommand } from './exec.js';
import { bundleGuestEntry } from './guest-bundle.js';
import { libcDev612Include } from './paths.js';
import { printReport } from './report.js';
import { runSuite, type Suite, type SuiteRun } from './routes.js';

const { values } = parseArgs({
  options: { route: { type: 'string' }, 'with-hang': { type: 'boolean', default: false } },
});
const route = values.route?.toLowerCase();
if (route !== undefined && route !== 'a' && route !== 'b') {
  console.error('--route must be a or b');
  process.exit(2);
}
const suites: Suite[] = [];
if (route !== 'b') suites.push('mtty');
if (route !== 'a') suites.push('edu');
if (values['with-hang'] && route !== 'b') suites.push('hang');

for (const tool of ['qemu-system-x86_64', 'apt-get', 'dpkg', 'zstd', 'xz', 'make', 'gcc']) {
  if (!hasCommand(tool)) {
    console.error(`missing tool: ${tool} (apt-get install -y qemu-system-x86 busybox-static zstd xz-utils make gcc)`);
    process.exit(1);
  }
}

const started = Date.now();
const entryScript = await bundleGuestEntry();
const runs: SuiteRun[] = [];
try {
  // Each TCG guest keeps about one host core busy: the two routes boot side by side. The hang guest (two
  // vCPUs, one of them spinning) runs alone afterwards.
  const sideBySide = suites.filter((suite) => suite !== 'hang');
  runs.push(...(await Promise.all(sideBySide.map((suite) => runSuite(suite, entryScript)))));
  if (suites.includes('hang')) runs.push(await runSuite('hang', entryScript));
} catch (error) {
  if (error instanceof PackagesUnavailable) {
    console.log(`\n==== SKIPPED: kernel tests: Debian packages could not be downloaded (${error.message}) ====\n`);
    process.exit(0);
  }
  throw error;
}
if (suites.includes('mtty')) console.log(`6.12 uapi headers (linux-libc-dev): ${libcDev612Include}`);
console.log(`total ${((Date.now() - started) / 1000).toFixed(1)} s`);
const { passed, failed } = printReport(runs);
// .ci/run sums these lines into its own closing line.
if (process.env.VFIO_UAPI_COUNT_FILE)
  appendFileSync(process.env.VFIO_UAPI_COUNT_FILE, `kernel ${passed} ${failed} 0\n`);
process.exit(failed > 0 ? 1 : 0);
