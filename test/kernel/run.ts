// Runs the VFIO checks inside real Linux guests under QEMU. Each TCG guest keeps one host core busy, so as many
// guests run side by side as the machine has cores, up to two (--jobs N to choose: 1 to 4), the routes shared
// among them by their measured times (lanes.ts).
// Usage: node --import tsx test/kernel/run.ts [--route NAME[,NAME…]] [--with-hang] [--jobs N]
//   NAME: 6.1, 6.12.95, 6.12.117, 7.3.4, cdev (default: all of them)
import { appendFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { generatedSpecData } from '../../runtime/conformance/spec-data.js';
import { blockedRequest, kernelRelease } from '../../runtime/kernel-release.js';
import { PackagesUnavailable } from './fetch.js';
import { hasCommand } from './exec.js';
import { bundleGuestEntry } from './guest-bundle.js';
import { planLanes } from './lanes.js';
import { printReport } from './report.js';
import { hangRoute, routes, runRoute, type Route, type SuiteRun } from './routes.js';

const { values } = parseArgs({
  options: {
    route: { type: 'string', multiple: true },
    'with-hang': { type: 'boolean', default: false },
    jobs: { type: 'string', default: String(Math.min(2, availableParallelism())) },
  },
});
const names = (values.route ?? []).flatMap((r) => r.split(',')).map((r) => r.trim().toLowerCase());
const unknown = names.filter((n) => !routes.some((r) => r.name === n));
if (unknown.length) {
  console.error(`--route: unknown ${unknown.join(', ')}; the routes are ${routes.map((r) => r.name).join(', ')}`);
  process.exit(2);
}
const jobs = Number(values.jobs);
if (!Number.isInteger(jobs) || jobs < 1 || jobs > 4) {
  console.error(`--jobs must be 1 to 4 (got "${values.jobs}")`);
  process.exit(2);
}
const selected: Route[] = names.length ? routes.filter((r) => names.includes(r.name)) : [...routes];

// The hang guest goes to every selected mtty kernel that, by the spec's version data, never returns from the
// blocked request. Which kernels those are is the spec's to say, not this file's.
const hangs: Route[] = [];
if (values['with-hang']) {
  const spec = generatedSpecData();
  for (const route of selected.filter((r) => r.suite === 'mtty' && r.access === 'group')) {
    const answer = blockedRequest(spec, kernelRelease(route.upstream, null), 'STOP_COPY', 'PRE_COPY');
    if (answer.answer === 'hang') hangs.push(hangRoute(route.name as Parameters<typeof hangRoute>[0]));
    else console.log(`--with-hang: ${route.name} answers ${answer.answer} (${answer.status}); no hang guest for it`);
  }
}

for (const tool of ['qemu-system-x86_64', 'apt-get', 'dpkg', 'zstd', 'xz', 'make', 'gcc', 'flex', 'bison', 'bc']) {
  if (!hasCommand(tool)) {
    console.error(
      `missing tool: ${tool} (apt-get install -y qemu-system-x86 busybox-static zstd xz-utils make gcc flex bison bc libelf-dev)`,
    );
    process.exit(1);
  }
}

const started = Date.now();
const log = (line: string) => console.log(`-- ${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s  ${line}`);
const entryScript = await bundleGuestEntry(log);

const runs: SuiteRun[] = [];
try {
  // Each lane runs its planned routes one after another (lanes.ts: the plan with the shortest longest lane).
  const lane = async (planned: Route[]) => {
    for (const route of planned) {
      log(`${route.name}: starting`);
      const run = await runRoute(route, entryScript, log);
      log(`${run.route.name}: ${run.checks.filter((c) => c.pass).length}/${run.checks.length} checks passed`);
      runs.push(run);
    }
  };
  await Promise.all(planLanes(selected, jobs).map(lane));
  // The hang guests (two vCPUs, one of them spinning) always run alone, after the others.
  for (const route of hangs) runs.push(await runRoute(route, entryScript, log));
} catch (error) {
  if (error instanceof PackagesUnavailable) {
    console.log(`\n==== SKIPPED: kernel tests: Debian packages could not be downloaded (${error.message}) ====\n`);
    process.exit(0);
  }
  throw error;
}
// The report lists the routes in their own order, whichever finished first.
const order = [...routes.map((r) => r.name), ...hangs.map((r) => r.name)];
runs.sort((a, b) => order.indexOf(a.route.name) - order.indexOf(b.route.name));
const { passed, failed } = printReport(runs, (Date.now() - started) / 1000, Math.min(jobs, selected.length));
// .ci/run sums these lines into its own closing line.
if (process.env.VFIO_UAPI_COUNT_FILE)
  appendFileSync(process.env.VFIO_UAPI_COUNT_FILE, `kernel ${passed} ${failed} 0\n`);
process.exit(failed > 0 ? 1 : 0);
