/**
 * Reads 1 GiB through the pipe-backed emulated data fd from JavaScript (fs.readSync, one reused 1 MiB
 * Buffer, position null) and, in the same run, has `dd bs=1M` read the same volume from a pipe fed the
 * same way (1 MiB pipe, 1 MiB writes). Rounds alternate; medians and the ratio are printed.
 *
 *   node --import tsx bench/data-fd-throughput.ts [--rounds 5] [--bytes 1073741824]
 *
 * Both sides time only the copy: the JS loop from its first read to the end, dd by its own report.
 */
import { openSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { DemoIoctl } from '../test/emulator-mechanism/fixtures/demo-handler.js';
import { startSupervisor } from '../runtime/emulator/seccomp/supervisor.js';
import { Errno } from '../runtime/sys/errno.js';
import { close, ioctl, lastErrno } from '../runtime/sys/libc.js';
import { ddFromFedPipe } from './dd-from-fed-pipe.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const rounds = flag('--rounds', 5);
const bytes = flag('--bytes', 1 << 30);
const GB = 1e9;

const supervisor = await startSupervisor(
  new URL('../test/emulator-mechanism/fixtures/demo-handler.ts', import.meta.url),
  {
    handlerOptions: { streamBytes: bytes },
  },
);
const group = openSync(join(supervisor.placeholderDir, 'demo-group'), 'r+');
const buffer = Buffer.alloc(1 << 20);

/** One emulated stream, read to its temporary end. Returns seconds spent copying. */
function readEmulatedStream(): number {
  const device = ioctl(group, DemoIoctl.GET_DEVICE_FD, 0);
  if (device < 0) throw new Error(`GET_DEVICE_FD failed: errno ${lastErrno()}`);
  const arg = Buffer.alloc(16);
  arg.writeUInt32LE(16, 0);
  arg.writeUInt32LE(3, 8);
  if (ioctl(device, DemoIoctl.SET_STATE, arg) !== 0) throw new Error(`SET_STATE failed: errno ${lastErrno()}`);
  const dataFd = arg.readInt32LE(12);
  let total = 0;
  const start = performance.now();
  for (;;) {
    try {
      const n = readSync(dataFd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      total += n;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).errno === -Errno.ENOMSG) break;
      throw e;
    }
  }
  const seconds = (performance.now() - start) / 1000;
  close(dataFd);
  close(device);
  if (total !== bytes) throw new Error(`emulated stream gave ${total} bytes, expected ${bytes}`);
  return seconds;
}

const ddFromPipe = () => ddFromFedPipe(bytes);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const emulated: number[] = [];
const dd: number[] = [];
readEmulatedStream(); // warm-up: JIT and page faults in the first buffers
for (let r = 0; r < rounds; r++) {
  // Alternate which side goes first so drift on a noisy machine affects both.
  if (r % 2 === 0) {
    emulated.push(readEmulatedStream());
    dd.push(ddFromPipe());
  } else {
    dd.push(ddFromPipe());
    emulated.push(readEmulatedStream());
  }
}
closeSync(group);
await supervisor.stop();

const rate = (s: number) => bytes / s / GB;
const e = rate(median(emulated));
const d = rate(median(dd));
const gib = (bytes / (1 << 30)).toFixed(2);
console.log(`data fd throughput, ${gib} GiB per run, ${rounds} rounds (medians)`);
console.log(
  `  emulated data fd, fs.readSync 1 MiB : ${e.toFixed(2)} GB/s  (runs: ${emulated.map((s) => rate(s).toFixed(2)).join(' ')})`,
);
console.log(
  `  dd bs=1M from a fed pipe            : ${d.toFixed(2)} GB/s  (runs: ${dd.map((s) => rate(s).toFixed(2)).join(' ')})`,
);
console.log(
  `  ratio emulated / dd                 : ${(e / d).toFixed(2)}x  (target >= 0.80x) ${e / d >= 0.8 ? 'OK' : 'BELOW TARGET'}`,
);
