/**
 * Load from a file with the commit protocol's cost — the whole file's checksum verified before the device is
 * touched (a pre-pass with pread), then the streaming pass that checks it again — against dd's way of moving the
 * same body: read 1 MiB from the file, write it to the device's resuming data fd, nothing else. dd itself cannot
 * write an emulated data fd (only this process's threads see the emulator), so that loop runs here, on the same
 * device, interleaved round by round with the runtime's load; `dd if=FILE of=/dev/null bs=1M` is printed beside
 * them as the floor of reading the file at all. Ratios only; no assertion.
 *
 *   node --import tsx bench/load-vs-dd.ts [--rounds 5] [--size 1GiB]
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { loadDevice, MigrationSession, openDevices, saveDevice } from '../runtime/index.js';
import { pread, write } from '../runtime/sys/index.js';
import { StreamChecksum } from '../runtime/stream/checksum.js';
import { checksumRange } from '../runtime/stream/copy-loops.js';
import { TRAILER_SIZE } from '../runtime/stream/format.js';

const arg = (n: string, d: string) => (process.argv.includes(n) ? process.argv[process.argv.indexOf(n) + 1]! : d);
const rounds = Number(arg('--rounds', '5'));
const size = arg('--size', '1GiB');
const bytes = Number(/^(\d+)GiB$/.exec(size)?.[1] ?? 1) * 2 ** 30;
const file = '/dev/shm/vfio-uapi-load-bench.vfio';

const [source, destination] = await openDevices(['emulated:mlx5', 'emulated:mlx5'], { stateSize: bytes });
await saveDevice(source, file, { finalState: 'RUNNING', precopy: false });
const fileBytes = statSync(file).size;
const headerBytes = (() => {
  // FORMAT.md: the header length is the u16 at offset 10.
  const fd = openSync(file, 'r');
  const b = Buffer.alloc(12);
  readSync(fd, b, 0, 12, 0);
  closeSync(fd);
  return b.readUInt16LE(10);
})();
const body = fileBytes - headerBytes - TRAILER_SIZE;

/** dd's loop in this process: read 1 MiB of the body, write it to the resuming data fd, until the end. */
function ddLoop(): number {
  const session = MigrationSession.open(destination);
  const buf = Buffer.allocUnsafe(1 << 20);
  const fd = openSync(file, 'r');
  const t0 = performance.now();
  session.moveTo('RESUMING');
  for (let at = 0; at < body;) {
    const n = pread(fd, buf, Math.min(buf.length, body - at), headerBytes + at);
    for (let done = 0; done < n;) done += write(session.dataFd, done ? buf.subarray(done) : buf, n - done);
    at += n;
  }
  session.moveTo('RUNNING');
  const s = (performance.now() - t0) / 1000;
  closeSync(fd);
  session.close();
  return body / s / 1e9;
}

/** The runtime's load of the file: header, whole-file checksum, RESUMING, streaming with the checksum, RUNNING. */
async function runtimeLoad(): Promise<number> {
  const t0 = performance.now();
  const r = await loadDevice(destination, file);
  if (r.verified !== 'before-device') throw new Error('the file was not verified before the device');
  return r.streamBytes / ((performance.now() - t0) / 1000) / 1e9;
}

/** The pre-pass alone: the whole body's checksum with pread (what load adds before touching the device). */
function prePass(): number {
  const fd = openSync(file, 'r');
  const t0 = performance.now();
  const sum = new StreamChecksum();
  checksumRange(fd, headerBytes, body, sum);
  sum.digest();
  const s = (performance.now() - t0) / 1000;
  closeSync(fd);
  return body / s / 1e9;
}

/** dd reading the file to /dev/null: the floor of reading it at all. */
function ddToNull(): number {
  const report = execFileSync('sh', ['-c', `LC_ALL=C dd if=${file} of=/dev/null bs=1M 2>&1`], { encoding: 'utf8' });
  const m = /(\d+) bytes .* copied, ([\d.]+) s/.exec(report);
  if (!m) throw new Error(`unexpected dd report: ${report}`);
  return Number(m[1]) / Number(m[2]) / 1e9;
}

const samples = { runtime: [] as number[], dd: [] as number[], floor: [] as number[], prepass: [] as number[] };
ddLoop(); // warm-up: page cache, emulator paths
for (let i = 0; i < rounds; i++) {
  const steps: (() => Promise<void> | void)[] = [
    async () => void samples.runtime.push(await runtimeLoad()),
    () => void samples.dd.push(ddLoop()),
    () => void samples.floor.push(ddToNull()),
    () => void samples.prepass.push(prePass()),
  ];
  for (let k = 0; k < steps.length; k++) await steps[(k + i) % steps.length]!();
}
await source.close();
await destination.close();
rmSync(file, { force: true });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const dd = median(samples.dd);
console.log(`load ${size} emulated:mlx5 from a tmpfs file, ${rounds} interleaved rounds (medians)`);
console.log(
  `runtime load (whole-file checksum before the device, then checked streaming)  ${median(samples.runtime).toFixed(2)} GB/s  ${(median(samples.runtime) / dd).toFixed(2)}× dd's loop (target ≥ 0.8)`,
);
console.log(`dd's loop here: read 1 MiB, write the data fd                                  ${dd.toFixed(2)} GB/s`);
console.log(
  `  of which the pre-pass alone (pread + checksum of the whole body)            ${median(samples.prepass).toFixed(2)} GB/s`,
);
console.log(
  `dd if=FILE of=/dev/null bs=1M (reading the file at all)                         ${median(samples.floor).toFixed(2)} GB/s`,
);
console.log(`machine load average while measuring: ${(await import('node:os')).loadavg()[0]!.toFixed(1)}`);
