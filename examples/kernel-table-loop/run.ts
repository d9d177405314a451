// Runs the kernel's table-driven step function (vfio_mig_get_next_state), in both of its versions,
// over the kernel's published table and over the table vfio-uapi generates, for every capability set
// and request. Usage: node --import tsx examples/kernel-table-loop/run.ts
import {
  checkKernelTable,
  describeStepAlgorithm,
  fsmFacts,
  loadSpec,
  readKernelTableFile,
  REPO_ROOT,
  STEP_ALGORITHMS,
} from 'vfio-uapi-tools';

const ir = await loadSpec(undefined, { docs: false });
const facts = fsmFacts(ir);
const counts: Record<string, number> = {};
for (const [name, file] of [
  ["the kernel's table (drivers/vfio/vfio_main.c)", new URL('./kernel-table.json', import.meta.url).pathname],
  ['the generated table', `${REPO_ROOT}/generated/fsm-kernel-table.json`],
] as const) {
  const table = readKernelTableFile(file, facts);
  for (const algorithm of STEP_ALGORITHMS) {
    const findings = checkKernelTable(facts, table, algorithm);
    console.log(
      `${name}, ${describeStepAlgorithm(ir.kernelFixes, algorithm)}: ${findings.length ? `${findings.length} problem(s)` : 'no problems'}`,
    );
    for (const f of findings) console.log(`  [${f.problem}] ${f.caps}: ${f.request} — ${f.message}`);
    counts[`${name === 'the generated table' ? 'generated' : 'kernel'} ${algorithm}`] = findings.length;
  }
}
// Expected: the kernel's table loops under the original algorithm only; the generated one never does.
process.exitCode =
  counts['kernel original']! > 0 &&
  counts['kernel stops-at-error'] === 0 &&
  counts['generated original'] === 0 &&
  counts['generated stops-at-error'] === 0
    ? 0
    : 1;
