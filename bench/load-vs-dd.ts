/**
 * Load from a file with the commit protocol's cost — the whole file's checksum verified before the device is
 * touched (a pre-pass with pread, on two threads for a large body: runtime/stream/prepass.ts), then the
 * streaming pass that checks it again — against dd's way of moving the same body: read 1 MiB from the file,
 * write it to the device's resuming data fd, nothing else. dd itself cannot write an emulated data fd (only this
 * process's threads see the emulator), so that loop runs here, on the same device, interleaved round by round
 * with the runtime's load — with the pre-pass on two threads (the default for this size) and on one
 * (VFIO_UAPI_PREPASS_THREADS=1, the load before the two-thread pre-pass). Also measured: the pre-pass alone on
 * one and two threads (each two-thread run starts its helper, as a load does), dd's loop with the checksum
 * added (what the streaming pass's checksum costs), and `dd if=FILE of=/dev/null bs=1M`, the floor of reading
 * the file at all. Ratios only; no assertion. The machine's load average is printed before and after.
 *
 *   node --import tsx bench/load-vs-dd.ts [--rounds 5] [--size 1GiB]
 *   node --import tsx bench/load-vs-dd.ts --prepass-sizes [--rounds 5]   (the pre-pass alone, 16 MiB to 1 GiB:
 *     where a helper thread starts to pay, i.e. PARALLEL_FROM)
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { loadDevice, MigrationSession, openDevices, saveDevice } from '../runtime/index.js';
import { addressOf, pread, write } from '../runtime/sys/index.js';
import { StreamChecksum } from '../runtime/stream/checksum.js';
import { TRAILER_SIZE } from '../runtime/stream/format.js';
import { checksumFileRange, type PrePassThreads } from '../runtime/stream/prepass.js';

const arg = (n: string, d: string) => (process.argv.includes(n) ? process.argv[process.argv.indexOf(n) + 1]! : d);
const rounds = Number(arg('--rounds', '5'));
const size = arg('--size', '1GiB');
const bytes = Number(/^(\d+)GiB$/.exec(size)?.[1] ?? 1) * 2 ** 30;
const file = '/dev/shm/vfio-uapi-load-bench.vfio';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const loadBefore = load();
/** Jiffies (USER_HZ, 100/s) busy and in all, over every CPU (proc(5): the first line of /proc/stat). */
const cpuTimes = () => {
  const t = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  const all = t.reduce((a, b) => a + b, 0);
  return { busy: all - t[3]! - t[4]!, all };
};
const cpu0 = cpuTimes();
const own0 = process.cpuUsage();
/** CPU the rest of the machine used while this bench ran, in cores (this process's own time taken out). */
const othersCores = () => {
  const c = cpuTimes();
  const own = process.cpuUsage(own0);
  const ownJiffies = (own.user + own.system) / 1e4;
  return (((c.busy - cpu0.busy - ownJiffies) / (c.all - cpu0.all)) * cpus).toFixed(2);
};
const cpus = availableParallelism();
const machine = () =>
  `machine: ${cpus} CPUs; load average (1, 5, 15 min) before ${loadBefore}, after ${load()}; other processes used ${othersCores()} of the ${cpus} CPUs meanwhile`;

/** The pre-pass alone over `length` bytes of `path` from `offset`: GB/s, and segments the helper summed. */
async function prePass(path: string, offset: number, length: number, threads: PrePassThreads) {
  const fd = openSync(path, 'r');
  try {
    const t0 = performance.now();
    const r = await checksumFileRange(fd, offset, length, { threads });
    const gbps = length / ((performance.now() - t0) / 1000) / 1e9;
    return { gbps, helperShare: r.segments.helper / (r.segments.helper + r.segments.thisThread) };
  } finally {
    closeSync(fd);
  }
}

if (process.argv.includes('--prepass-sizes')) {
  // No device: a 1 GiB file, the pre-pass over its first 16 MiB .. 1 GiB, one thread and two, interleaved.
  const sizes = [16, 32, 64, 128, 256, 512, 1024].map((m) => m * 2 ** 20);
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(16 << 20, 0x5a);
  for (let i = 0; i < 64; i++) writeSync(fd, block);
  closeSync(fd);
  const s = new Map(sizes.map((n) => [n, { one: [] as number[], two: [] as number[], share: [] as number[] }]));
  await prePass(file, 0, 2 ** 30, 2); // warm-up
  for (let i = 0; i < rounds; i++)
    for (const n of sizes) {
      const order: PrePassThreads[] = i % 2 ? [2, 1] : [1, 2];
      for (const t of order) {
        const r = await prePass(file, 0, n, t);
        if (t === 1) s.get(n)!.one.push(r.gbps);
        else (s.get(n)!.two.push(r.gbps), s.get(n)!.share.push(r.helperShare));
      }
    }
  rmSync(file, { force: true });
  console.log(`pre-pass alone (pread + checksum of a tmpfs file), ${rounds} interleaved rounds (medians)`);
  console.log('   size   one thread   two threads (helper started each time)   two/one   helper share');
  for (const [n, v] of s)
    console.log(
      `${String(n / 2 ** 20).padStart(5)} MiB  ${median(v.one).toFixed(2).padStart(6)} GB/s  ${median(v.two).toFixed(2).padStart(6)} GB/s${' '.repeat(32)}${(median(v.two) / median(v.one)).toFixed(2)}×     ${(median(v.share) * 100).toFixed(0)}%`,
    );
  console.log(machine());
  process.exit(0);
}

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

/** 1 MiB at a page boundary, as dd's own buffer is (coreutils src/dd.c alloc_ibuf: alignalloc (page_size, …)). */
const pageAligned = (() => {
  const backing = Buffer.allocUnsafe((1 << 20) + 4096);
  const skip = (4096 - Number(addressOf(backing) % 4096n)) % 4096;
  return backing.subarray(skip, skip + (1 << 20));
})();

/** dd's loop in this process: read 1 MiB of the body, write it to the resuming data fd, until the end. */
function ddLoop(withChecksum: boolean): number {
  const session = MigrationSession.open(destination);
  const sum = withChecksum ? new StreamChecksum() : null;
  const buf = sum ? sum.buffer : pageAligned;
  const fd = openSync(file, 'r');
  const t0 = performance.now();
  session.moveTo('RESUMING');
  for (let at = 0; at < body;) {
    const n = pread(fd, buf, Math.min(1 << 20, body - at), headerBytes + at);
    sum?.update(n);
    for (let done = 0; done < n;) done += write(session.dataFd, done ? buf.subarray(done) : buf, n - done);
    at += n;
  }
  sum?.digest();
  session.moveTo('RUNNING');
  const s = (performance.now() - t0) / 1000;
  closeSync(fd);
  session.close();
  return body / s / 1e9;
}

/** The runtime's load of the file: header, whole-file checksum, RESUMING, streaming with the checksum, RUNNING. */
async function runtimeLoad(threads: 'auto' | '1'): Promise<number> {
  if (threads === '1') process.env.VFIO_UAPI_PREPASS_THREADS = '1';
  try {
    const t0 = performance.now();
    const r = await loadDevice(destination, file);
    if (r.verified !== 'before-device') throw new Error('the file was not verified before the device');
    return r.streamBytes / ((performance.now() - t0) / 1000) / 1e9;
  } finally {
    delete process.env.VFIO_UAPI_PREPASS_THREADS;
  }
}

/** dd reading the file to /dev/null: the floor of reading it at all. */
function ddToNull(): number {
  const report = execFileSync('sh', ['-c', `LC_ALL=C dd if=${file} of=/dev/null bs=1M 2>&1`], { encoding: 'utf8' });
  const m = /(\d+) bytes .* copied, ([\d.]+) s/.exec(report);
  if (!m) throw new Error(`unexpected dd report: ${report}`);
  return Number(m[1]) / Number(m[2]) / 1e9;
}

const samples = {
  runtime: [] as number[],
  runtimeOne: [] as number[],
  dd: [] as number[],
  ddSum: [] as number[],
  floor: [] as number[],
  prepassOne: [] as number[],
  prepassTwo: [] as number[],
  helperShare: [] as number[],
};
ddLoop(false); // warm-up: page cache, emulator paths
await runtimeLoad('auto');
for (let i = 0; i < rounds; i++) {
  const steps: (() => Promise<void> | void)[] = [
    async () => void samples.runtime.push(await runtimeLoad('auto')),
    () => void samples.dd.push(ddLoop(false)),
    async () => void samples.runtimeOne.push(await runtimeLoad('1')),
    () => void samples.ddSum.push(ddLoop(true)),
    () => void samples.floor.push(ddToNull()),
    async () => void samples.prepassOne.push((await prePass(file, headerBytes, body, 1)).gbps),
    async () => {
      const r = await prePass(file, headerBytes, body, 2);
      samples.prepassTwo.push(r.gbps);
      samples.helperShare.push(r.helperShare);
    },
  ];
  for (let k = 0; k < steps.length; k++) await steps[(k + i) % steps.length]!();
}
await source.close();
await destination.close();
rmSync(file, { force: true });

const dd = median(samples.dd);
const row = (label: string, xs: number[], note = '') =>
  console.log(`${label.padEnd(78)} ${median(xs).toFixed(2)} GB/s  ${(median(xs) / dd).toFixed(2)}× dd's loop${note}`);
console.log(`load ${size} emulated:mlx5 from a tmpfs file, ${rounds} interleaved rounds (medians)`);
row(
  'runtime load, pre-pass on two threads (whole-file checksum, then checked streaming)',
  samples.runtime,
  ' (target ≥ 0.8)',
);
row('runtime load, pre-pass on one thread (VFIO_UAPI_PREPASS_THREADS=1)', samples.runtimeOne);
row("dd's loop here: read 1 MiB, write the data fd", samples.dd);
row("dd's loop with the checksum added (the streaming pass's own cost)", samples.ddSum);
console.log(
  `pre-pass alone (pread + checksum of the whole body): one thread ${median(samples.prepassOne).toFixed(2)} GB/s, two threads ${median(samples.prepassTwo).toFixed(2)} GB/s (the helper summed ${(median(samples.helperShare) * 100).toFixed(0)}% of the segments)`,
);
console.log(
  `dd if=FILE of=/dev/null bs=1M (reading the file at all)${' '.repeat(24)}${median(samples.floor).toFixed(2)} GB/s`,
);
console.log(machine());
