// Prints the per-check table and the plain closing line CI looks for.
import type { SuiteRun } from './routes.js';

export function printReport(runs: readonly SuiteRun[]): { passed: number; failed: number } {
  const rows = runs.flatMap((run) => run.checks);
  const idWidth = Math.max(...rows.map((c) => c.id.length), 5);
  const expectedWidth = Math.min(Math.max(...rows.map((c) => c.expected.length), 8), 48);
  for (const run of runs) {
    console.log(
      `-- ${run.suite}: prepared in ${run.prepareSeconds.toFixed(1)} s, guest ran ${run.bootSeconds.toFixed(1)} s`,
    );
  }
  console.log(`${'check'.padEnd(idWidth)}  result  ${'expected'.padEnd(expectedWidth)}  observed`);
  for (const check of rows) {
    const mark = check.pass ? 'pass  ' : 'FAIL  ';
    console.log(`${check.id.padEnd(idWidth)}  ${mark}  ${check.expected.padEnd(expectedWidth)}  ${check.observed}`);
    if (check.note) console.log(`${''.padEnd(idWidth)}          note: ${check.note}`);
  }
  const passed = rows.filter((c) => c.pass).length;
  const failed = rows.length - passed;
  console.log(`${passed} passed, ${failed} failed`);
  return { passed, failed };
}
