// Cold `vfio-uapi gen --check` process wall time: median of 5 fresh processes (target ≤ 1.0 s here),
// with the generator's content-addressed cache (build/cache: ts-morph doc extraction, Graphviz renders)
// warm, and with it turned off (the first run after a spec edit pays this).
import { spawnSync } from 'node:child_process';

function median(env: NodeJS.ProcessEnv): { runs: number[]; median: number } {
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ['packages/vfio-uapi/bin/vfio-uapi.js', 'gen', '--check'], {
      encoding: 'utf8',
      env,
    });
    runs.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 0) {
      console.error(r.stderr || r.stdout);
      process.exit(1);
    }
  }
  const sorted = [...runs].sort((a, b) => a - b);
  return { runs, median: sorted[2]! };
}

const warm = median(process.env);
const cold = median({ ...process.env, VFIO_UAPI_NO_CACHE: '1' });
const show = (m: { runs: number[]; median: number }) =>
  `${m.runs.map((r) => r.toFixed(0)).join(', ')} ms; median ${m.median.toFixed(0)} ms`;
console.log(`gen --check, cache warm:  ${show(warm)} (target ≤ 1000 ms)`);
console.log(`gen --check, cache off:   ${show(cold)}`);
