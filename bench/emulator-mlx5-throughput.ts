/**
 * 1 GiB of mlx5-personality state (generated on the fly, never held in memory) read through the emulated
 * data fd from JavaScript — fs.readSync, one reused 1 MiB Buffer, position null — against `dd bs=1M` reading
 * the same volume from a fed pipe, alternating in one run. Prints medians and the ratio (target ≥ 0.8×).
 *
 *   node --import tsx bench/emulator-mlx5-throughput.ts [--rounds 3] [--bytes 1073741824]
 */
import { closeSync, readSync } from 'node:fs';
import { startEmulator } from '../runtime/emulator/index.js';
import { openViaGroup, setState, State } from '../test/emulator/raw.js';
import { ddFromFedPipe } from './dd-from-fed-pipe.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const rounds = flag('--rounds', 3);
const bytes = flag('--bytes', 1 << 30);
const GB = 1e9;

const emu = await startEmulator({ devices: [{ personality: 'mlx5', stateSize: bytes }] });
const device = openViaGroup(emu.containerPath, emu.devices[0]!.groupPath, emu.devices[0]!.groupDeviceName)
  .device as number;
const buffer = Buffer.alloc(1 << 20);

/** RUNNING → STOP_COPY, read to read() == 0, back to RUNNING. Returns seconds spent reading. */
function readStopCopy(): { seconds: number; total: number } {
  const { dataFd, ret } = setState(device, State.STOP_COPY);
  if (ret !== 0) throw new Error(`SET STOP_COPY: ${ret}`);
  let total = 0;
  const start = performance.now();
  for (;;) {
    const n = readSync(dataFd, buffer, 0, buffer.length, null);
    if (n === 0) break;
    total += n;
  }
  const seconds = (performance.now() - start) / 1000;
  closeSync(dataFd);
  if (setState(device, State.RUNNING).ret !== 0) throw new Error('SET RUNNING failed');
  return { seconds, total };
}

const ddFromPipe = (total: number) => ddFromFedPipe(total);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const emulated: number[] = [];
const dd: number[] = [];
const warm = readStopCopy(); // JIT, page faults, the generator's seeded block
const total = warm.total;
for (let r = 0; r < rounds; r++) {
  if (r % 2 === 0) {
    emulated.push(readStopCopy().seconds);
    dd.push(ddFromPipe(total));
  } else {
    dd.push(ddFromPipe(total));
    emulated.push(readStopCopy().seconds);
  }
}
await emu.stop();

const rate = (s: number) => total / s / GB;
const e = rate(median(emulated));
const d = rate(median(dd));
console.log(
  `mlx5 emulated STOP_COPY stream: ${total} bytes per run (${(total / 2 ** 30).toFixed(3)} GiB), ${rounds} rounds (medians)`,
);
console.log(
  `  emulated data fd, fs.readSync 1 MiB : ${e.toFixed(2)} GB/s  (runs: ${emulated.map((s) => rate(s).toFixed(2)).join(' ')})`,
);
console.log(
  `  dd bs=1M from a fed pipe            : ${d.toFixed(2)} GB/s  (runs: ${dd.map((s) => rate(s).toFixed(2)).join(' ')})`,
);
console.log(
  `  ratio emulated / dd                 : ${(e / d).toFixed(2)}x  (target >= 0.80x) ${e / d >= 0.8 ? 'OK' : 'BELOW TARGET'}`,
);
console.log(`  rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB (the state is generated, not held)`);
