/**
 * Save 1 GiB from an emulated mlx5 device to a tmpfs file (the whole runtime path: session, pre-copy,
 * STOP_COPY, header, checksum, trailer) — with the checksum and with --raw — against `dd bs=1M` copying 1 GiB
 * from a pipe fed like an emulated data fd to a tmpfs file, interleaved in the same run. Each save runs in its own process under
 * /usr/bin/time, whose peak RSS (the whole process, emulator thread included) is reported.
 *
 * The CLI is the compiled package (npm run build; `npm ci` builds it).
 *
 *   node --import tsx bench/runtime-save-vs-dd.ts [--rounds 3] [--size 1GiB]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ddFromFedPipe } from './dd-from-fed-pipe.js';

const arg = (n: string, d: string) => (process.argv.includes(n) ? process.argv[process.argv.indexOf(n) + 1]! : d);
const rounds = Number(arg('--rounds', '3'));
const size = arg('--size', '1GiB');
const bytes = Number(/^(\d+)GiB$/.exec(size)?.[1] ?? 1) * 2 ** 30;
const bin = fileURLToPath(new URL('../packages/vfio-uapi/bin/vfio-uapi.js', import.meta.url));
const out = '/dev/shm/vfio-uapi-bench.vfio';
const rssFile = '/dev/shm/vfio-uapi-bench.rss';

/** One save in a fresh process: in-process copy rate (GB/s) and the process's peak RSS (MiB). */
function runtimeSave(raw: boolean): { gbps: number; rssMiB: number } {
  const args = [bin, 'save', 'emulated:mlx5', out, '--size', size, '--quiet', '--json', ...(raw ? ['--raw'] : [])];
  const res = spawnSync('/usr/bin/time', ['-f', '%M', '-o', rssFile, process.execPath, ...args], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`save failed: ${res.stderr}`);
  const j = JSON.parse(res.stdout.trim().split('\n').pop()!) as { totalBytes: number; elapsedMs: number };
  const rssKiB = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
  return { gbps: j.totalBytes / (j.elapsedMs / 1000) / 1e9, rssMiB: rssKiB / 1024 };
}

/** dd's rate (GB/s) copying the same volume from a fed pipe to the same tmpfs file. */
const ddFromPipe = () => bytes / ddFromFedPipe(bytes, out, { fullblock: true }) / 1e9;

const samples = {
  checked: [] as number[],
  raw: [] as number[],
  dd: [] as number[],
  rss: [] as number[],
  rawRss: [] as number[],
};
for (let i = 0; i < rounds; i++) {
  // Rotate the order so a noisy neighbour slows each case alike.
  const steps = [
    () => {
      const s = runtimeSave(false);
      samples.checked.push(s.gbps);
      samples.rss.push(s.rssMiB);
    },
    () => {
      const s = runtimeSave(true);
      samples.raw.push(s.gbps);
      samples.rawRss.push(s.rssMiB);
    },
    () => samples.dd.push(ddFromPipe()),
  ];
  for (let k = 0; k < steps.length; k++) steps[(k + i) % steps.length]!();
}
rmSync(out, { force: true });
rmSync(rssFile, { force: true });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const dd = median(samples.dd);
console.log(
  `save ${size} emulated:mlx5 → tmpfs file, ${rounds} interleaved rounds (medians), CLI from the compiled package`,
);
console.log(
  `runtime save, checksum on   ${median(samples.checked).toFixed(2)} GB/s  ${(median(samples.checked) / dd).toFixed(2)}× dd (target ≥ 0.9)   peak RSS ${median(samples.rss).toFixed(0)} MiB (max ${Math.max(...samples.rss).toFixed(0)}; target ≤ 96)`,
);
console.log(
  `runtime save, --raw         ${median(samples.raw).toFixed(2)} GB/s  ${(median(samples.raw) / dd).toFixed(2)}× dd                 peak RSS ${median(samples.rawRss).toFixed(0)} MiB`,
);
console.log(`dd bs=1M from a pipe        ${dd.toFixed(2)} GB/s`);
