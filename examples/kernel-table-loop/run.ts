// Runs the kernel's table-driven step function (vfio_mig_get_next_state) over the kernel's published
// table and over the table vfio-uapi generates, for every capability set and request.
// Usage: node --import tsx examples/kernel-table-loop/run.ts
import { readFileSync } from 'node:fs';
import { checkKernelTable, fsmFacts, loadSpec, parseKernelTable, REPO_ROOT } from 'vfio-uapi-tools';

const ir = await loadSpec(undefined, { docs: false });
const facts = fsmFacts(ir);
const counts: number[] = [];
for (const [name, file] of [
  ["the kernel's table (drivers/vfio/vfio_main.c)", new URL('./kernel-table.json', import.meta.url).pathname],
  ['the generated table', `${REPO_ROOT}/generated/fsm-kernel-table.json`],
] as const) {
  const findings = checkKernelTable(facts, parseKernelTable(JSON.parse(readFileSync(file, 'utf8'))));
  console.log(`${name}: ${findings.length ? `${findings.length} problem(s)` : 'no problems'}`);
  for (const f of findings) console.log(`  [${f.problem}] ${f.caps}: ${f.request} — ${f.message}`);
  counts.push(findings.length);
}
// Expected: the kernel's table loops, the generated one does not; anything else fails the example.
process.exitCode = counts[0]! > 0 && counts[1] === 0 ? 0 : 1;
