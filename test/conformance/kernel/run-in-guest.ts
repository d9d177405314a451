// The conformance suite against real mtty runs inside the mtty routes of the kernel test (`vfio-uapi conform
// … --known-failures auto --with-forbidden --format ktap` in the guest, next to the migration checks): this boots
// one of those guests and prints only the suite's rows and its KTAP.
// Usage: node --import tsx test/conformance/kernel/run-in-guest.ts [ROUTE]   (6.12.95, 6.12.117, 7.3.4, cdev)
import { bundleGuestEntry } from '../../kernel/guest-bundle.js';
import { routes, runRoute } from '../../kernel/routes.js';

const name = process.argv[2] ?? '7.3.4';
const route = routes.find((r) => r.name === name && r.suite === 'mtty');
if (!route) {
  console.error(`no mtty route ${name}; have ${routes.filter((r) => r.suite === 'mtty').map((r) => r.name)}`);
  process.exit(2);
}
const run = await runRoute(route, await bundleGuestEntry());
if (run.ktap) console.log(run.ktap);
const rows = run.checks.filter((c) => c.id.startsWith('conform.') || !c.pass);
for (const c of rows)
  console.log(
    `${c.pass ? 'ok  ' : 'FAIL'} ${c.id}: ${c.pass ? c.observed : `expected ${c.expected}, observed ${c.observed}`}${c.note ? ` — ${c.note}` : ''}`,
  );
console.log(`prepare ${run.prepareSeconds.toFixed(1)} s, boot+run ${run.bootSeconds.toFixed(1)} s`);
process.exit(rows.some((c) => !c.pass) ? 1 : 0);
