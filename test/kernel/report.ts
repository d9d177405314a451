// Prints what the guests found: one line per check, the KTAP the conformance runs printed, one table
// kernel × check group with counts, and the plain closing line CI looks for.
import type { Check } from './guest/check.js';
import { parseKtap } from './guest/ktap.js';
import type { SuiteRun } from './routes.js';
import { describeTimeline } from './timeline.js';

/** Check groups, by the first word of a check id, in table order. */
const groups: { prefix: string[]; title: string }[] = [
  { prefix: ['guest'], title: 'guest' },
  { prefix: ['open'], title: 'open path' },
  { prefix: ['feature'], title: 'feature headers' },
  { prefix: ['migration', 'reset'], title: 'migration' },
  { prefix: ['conform'], title: 'conformance' },
  { prefix: ['blocked'], title: 'blocked request' },
  { prefix: ['precopy-v2'], title: 'PRECOPY_INFOv2' },
  { prefix: ['dma-logging'], title: 'DMA logging' },
  { prefix: ['integrity'], title: 'integrity' },
];

function groupOf(check: Check): string {
  const first = check.id.split('.')[0] ?? '';
  return groups.find((g) => g.prefix.includes(first))?.title ?? 'other';
}

function cell(checks: Check[], title: string, run: SuiteRun): string {
  const mine = checks.filter((c) => groupOf(c) === title);
  if (!mine.length) return '—';
  const passed = mine.filter((c) => c.pass).length;
  const mark = passed === mine.length ? 'ok' : 'FAIL';
  if (title === 'conformance') {
    // Counts from the KTAP the guest printed (its `# Totals:` line), so the table shows what kernel CI would see.
    const counts = run.ktap ? parseKtap(run.ktap).totals : null;
    const detail = counts ? `${counts.pass}p ${counts.xfail}x ${counts.skip}s` : '';
    return `${mark} ${passed}/${mine.length}${detail ? ` (${detail})` : ''}`;
  }
  return `${mark} ${passed}/${mine.length}`;
}

export function printReport(
  runs: readonly SuiteRun[],
  totalSeconds: number,
  sideBySide = 1,
): { passed: number; failed: number } {
  const rows = runs.flatMap((run) => run.checks.map((check) => ({ ...check, id: `${run.route.name}.${check.id}` })));
  const idWidth = Math.min(Math.max(...rows.map((c) => c.id.length), 5), 64);
  const expectedWidth = Math.min(Math.max(...rows.map((c) => c.expected.length), 8), 48);
  console.log(`${'check'.padEnd(idWidth)}  result  ${'expected'.padEnd(expectedWidth)}  observed`);
  for (const check of rows) {
    const mark = check.pass ? 'pass  ' : 'FAIL  ';
    console.log(`${check.id.padEnd(idWidth)}  ${mark}  ${check.expected.padEnd(expectedWidth)}  ${check.observed}`);
    if (check.note) console.log(`${''.padEnd(idWidth)}          note: ${check.note}`);
  }

  for (const run of runs.filter((r) => r.ktap)) {
    console.log(`\n-- ${run.route.name}: vfio-uapi conform --format ktap (as printed in the guest)`);
    console.log(run.ktap);
  }

  console.log('\n-- routes');
  for (const run of runs) {
    console.log(
      `${run.route.name.padEnd(12)} ${run.route.title}: prepared in ${run.prepareSeconds.toFixed(1)} s, ` +
        `guest ran ${run.bootSeconds.toFixed(1)} s`,
    );
    console.log(`${''.padEnd(12)}   guest clock: ${describeTimeline(run.timeline)}`);
    for (const note of run.prepared) console.log(`${''.padEnd(12)}   ${note}`);
  }

  const used = groups.filter((g) => runs.some((run) => run.checks.some((c) => groupOf(c) === g.title)));
  const columns = [{ title: 'kernel', width: 12 }, ...used.map((g) => ({ title: g.title, width: 0 }))];
  const table = runs.map((run) => [run.route.name, ...used.map((g) => cell(run.checks, g.title, run))]);
  columns.forEach((col, i) => (col.width = Math.max(col.title.length, ...table.map((row) => row[i]!.length))));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(columns[i]!.width)).join(' │ ');
  console.log('\n-- kernel × check group (checks passed / checks; conformance rules p pass, x xfail, s skip)');
  console.log(line(columns.map((c) => c.title)));
  console.log(columns.map((c) => '─'.repeat(c.width)).join('─┼─'));
  for (const row of table) console.log(line(row));

  const passed = rows.filter((c) => c.pass).length;
  const failed = rows.length - passed;
  const lanes = sideBySide > 1 ? `, ${sideBySide} side by side` : ', one at a time';
  console.log(`\ntotal ${totalSeconds.toFixed(1)} s for ${runs.length} guest(s)${lanes}`);
  console.log(`${passed} passed, ${failed} failed`);
  return { passed, failed };
}
