// Cold `vfio-uapi gen --check` process wall time: median of 5 fresh processes (target ≤ 1.0 s here).
import { spawnSync } from 'node:child_process';

const runs: number[] = [];
for (let i = 0; i < 5; i++) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['bin/vfio-uapi.js', 'gen', '--check'], { encoding: 'utf8' });
  runs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  if (r.status !== 0) {
    console.error(r.stderr || r.stdout);
    process.exit(1);
  }
}
runs.sort((a, b) => a - b);
console.log(
  `cold gen --check: ${runs.map((r) => r.toFixed(0)).join(', ')} ms; median ${runs[2]!.toFixed(0)} ms (target ≤ 1000 ms)`,
);
