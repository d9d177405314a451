/**
 * Drive pre-copy by hand: PRE_COPY, read what PRECOPY_INFO says is pending, ask the policy whether to go on,
 * then STOP_COPY until read() returns 0. What a VMM does between its own dirty-page rounds.
 *   node --import tsx examples/precopy-loop/main.ts [DEVICE]
 */
import { readSync } from 'node:fs';
import { MigrationSession, openDevice, PrecopyPolicy } from 'vfio-uapi';

const device = await openDevice(process.argv[2] ?? 'emulated:mlx5', { stateSize: 8 << 20 });
const session = MigrationSession.open(device);
const buf = Buffer.allocUnsafe(1 << 20);
const policy = new PrecopyPolicy({ maxRounds: 5 });

/** Read up to `limit` bytes; stop early at ENOMSG (nothing more for now) or 0. */
function drain(limit: number): number {
  let total = 0;
  while (total < limit) {
    let n: number;
    try {
      n = readSync(session.dataFd, buf, 0, Math.min(buf.length, limit - total), null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).errno === -42) break; // ENOMSG: temporary end of pre-copy data
      throw e;
    }
    if (n === 0) break;
    total += n;
  }
  return total;
}

try {
  session.moveTo('PRE_COPY');
  for (let round = 1; ; round++) {
    const info = session.precopyInfo();
    const got = drain(Number(info.initialBytes + info.dirtyBytes));
    const decision = policy.decide(round, session.precopyInfo());
    console.log(`round ${round}: read ${got} bytes; ${decision.stop ? 'stop' : 'continue'}: ${decision.reason}`);
    if (decision.stop) break;
  }
  console.log(`MIG_DATA_SIZE says STOP_COPY will bring about ${session.dataSize()} bytes`);
  session.moveTo('STOP_COPY');
  console.log(`stop-copy: read ${drain(Infinity)} bytes`);
  session.moveTo('RUNNING');
  console.log(`steps: ${session.report.steps.map((s) => `${s.from}->${s.to}`).join(', ')}`);
} finally {
  session.close();
  await device.close();
}
