// `npm run fuzz`: at least 100k inputs per struct into every decoder, encoder and validator; prints counts.
import { fuzzStructs } from './fuzz-targets.js';

const perStruct = Number(process.argv[2] ?? 50_000); // × 2 (bytes and values) = 100k inputs per struct
const seed = Number(process.argv[3] ?? Date.now() % 2 ** 31);
const t0 = Date.now();
const report = await fuzzStructs(perStruct, seed);
let bad = 0;
for (const r of report) {
  console.log(
    `${r.struct.padEnd(42)} ${String(r.inputs).padStart(8)} inputs  ${String(r.typedErrors).padStart(8)} CodecErrors  ${r.untyped.length ? 'UNTYPED: ' + r.untyped.join(' | ') : 'ok'}`,
  );
  if (r.untyped.length) bad++;
}
const total = report.reduce((a, r) => a + r.inputs, 0);
console.log(
  `\n${total} inputs over ${report.length} structs in ${((Date.now() - t0) / 1000).toFixed(1)} s (seed ${seed}); ${bad} struct(s) with untyped exceptions`,
);
process.exitCode = bad ? 1 : 0;
