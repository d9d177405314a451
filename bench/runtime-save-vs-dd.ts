/**
 * Save 1 GiB from an emulated mlx5 device to a tmpfs file (the whole runtime path: session, pre-copy,
 * STOP_COPY, header, CRC-32, trailer) against `dd bs=1M` copying 1 GiB from a pipe to a tmpfs file, in the
 * same run; each save in its own process, whose peak RSS is reported.
 *
 *   node --import tsx bench/runtime-save-vs-dd.ts [--rounds 3] [--size 1GiB]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const arg = (n: string, d: string) => (process.argv.includes(n) ? process.argv[process.argv.indexOf(n) + 1]! : d);
const rounds = Number(arg('--rounds', '3'));
const size = arg('--size', '1GiB');
const bytes = Number(/^(\d+)GiB$/.exec(size)?.[1] ?? 1) * 2 ** 30;
const bin = fileURLToPath(new URL('../bin/vfio-uapi.js', import.meta.url));
const out = '/dev/shm/vfio-uapi-bench.vfio';

function runtimeSave(): { gbps: number; rssMiB: number } {
  const r = spawnSync(
    '/usr/bin/env',
    [
      'bash',
      '-c',
      `/usr/bin/time -f '%M' ${process.execPath} ${bin} save emulated:mlx5 ${out} --size ${size} --quiet --json 2>&1 >/dev/null | tail -1; ${process.execPath} -e 0`,
    ],
    { encoding: 'utf8' },
  );
  void r;
  const res = spawnSync(process.execPath, [bin, 'save', 'emulated:mlx5', out, '--size', size, '--quiet', '--json'], {
    encoding: 'utf8',
  });
  const j = JSON.parse(res.stdout) as { totalBytes: number; elapsedMs: number };
  const rss = Number(r.stdout.trim().split('\n').pop());
  return { gbps: j.totalBytes / (j.elapsedMs / 1000) / 1e9, rssMiB: rss / 1024 };
}

function ddFromPipe(): number {
  const mib = Math.round(bytes / 2 ** 20);
  const txt = execFileSync(
    'bash',
    ['-c', `dd if=/dev/zero bs=1M count=${mib} status=none | dd of=${out} bs=1M iflag=fullblock 2>&1`],
    { encoding: 'utf8' },
  );
  const m = /copied, ([\d.]+) s/.exec(txt);
  return bytes / Number(m![1]) / 1e9;
}

const rt: number[] = [];
const rss: number[] = [];
const dd: number[] = [];
for (let i = 0; i < rounds; i++) {
  const s = runtimeSave();
  rt.push(s.gbps);
  rss.push(s.rssMiB);
  dd.push(ddFromPipe());
}
rmSync(out, { force: true });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`save ${size} emulated:mlx5 → tmpfs file, ${rounds} alternating rounds (medians)`);
console.log(
  `runtime save (in-process copy time)  ${median(rt).toFixed(2)} GB/s   peak RSS ${median(rss).toFixed(0)} MiB (target ≤ 96)`,
);
console.log(`dd bs=1M from a pipe                  ${median(dd).toFixed(2)} GB/s`);
console.log(`ratio runtime/dd                      ${(median(rt) / median(dd)).toFixed(2)}× (target ≥ 0.9)`);
