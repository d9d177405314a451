/**
 * Writes N bytes of the demo pattern into stdout in 1 MiB write()s, after growing the stdout pipe to 1 MiB:
 * the same way the supervisor feeds an emulated data fd. Used as dd's source by data-fd-throughput.ts.
 * The stream starts with one marker byte that the reader discards before timing.
 */
import { F_GETFL, F_SETFL, F_SETPIPE_SZ, O_NONBLOCK } from '../runtime/sys/constants.js';
import { fcntl, lastErrno, write } from '../runtime/sys/libc.js';

const total = Number(process.argv[2] ?? 1 << 30);
const chunk = Buffer.alloc(1 << 20);
for (let i = 0; i < chunk.length; i++) chunk[i] = i & 0xff;
fcntl(1, F_SETPIPE_SZ, chunk.length);
// Node may have made stdout non-blocking; a feeder must block like any plain writer.
fcntl(1, F_SETFL, fcntl(1, F_GETFL) & ~O_NONBLOCK);
// One marker byte first, so the reader can start its clock once the feeder is running (not loading).
write(1, Buffer.from([0x5a]));
let left = total;
while (left > 0) {
  const n = write(1, chunk, Math.min(left, chunk.length));
  if (n < 0) throw new Error(`feeder write failed: errno ${lastErrno()}`);
  left -= n;
}
