// The conformance suite against real mtty now runs inside route A of the kernel test (`vfio-uapi conform
// … --known-failures auto` in the 6.12 guest, next to the migration checks): this boots that one guest
// and prints only the suite's rows. Usage: node --import tsx test/conformance/kernel/run-in-guest.ts
import { bundleGuestEntry } from '../../kernel/guest-bundle.js';
import { runSuite } from '../../kernel/routes.js';

const run = await runSuite('mtty', await bundleGuestEntry());
const rows = run.checks.filter((c) => c.id.startsWith('a.conform.') || !c.pass);
for (const c of rows)
  console.log(
    `${c.pass ? 'ok  ' : 'FAIL'} ${c.id}: ${c.pass ? c.observed : `expected ${c.expected}, observed ${c.observed}`}${c.note ? ` — ${c.note}` : ''}`,
  );
console.log(`prepare ${run.prepareSeconds.toFixed(1)} s, boot+run ${run.bootSeconds.toFixed(1)} s`);
process.exit(rows.some((c) => !c.pass) ? 1 : 0);
