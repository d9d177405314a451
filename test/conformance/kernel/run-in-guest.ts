// Boots the 6.12 + mtty guest of test/kernel and runs the conformance suite there with the real driver's
// known-failure list (runtime/conformance/known-failures/mtty.txt): its deviations show as XFAIL. Usage: node --import tsx test/conformance/kernel/run-in-guest.ts
import { build } from 'esbuild';
import { join } from 'node:path';
import { projectRoot } from '../../kernel/paths.js';
import { runSuite } from '../../kernel/routes.js';

const outfile = join(projectRoot, 'build', 'conformance-guest', 'entry.mjs');
await build({
  entryPoints: [join(projectRoot, 'test', 'conformance', 'kernel', 'guest-entry.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['koffi'],
  logLevel: 'warning',
});
const run = await runSuite('mtty', outfile);
for (const c of run.checks)
  console.log(
    `${c.pass ? 'ok  ' : 'FAIL'} ${c.id}: ${c.pass ? c.observed : `expected ${c.expected}, observed ${c.observed}`}${c.note ? ` — ${c.note}` : ''}`,
  );
console.log(`prepare ${run.prepareSeconds.toFixed(1)} s, boot+run ${run.bootSeconds.toFixed(1)} s`);
