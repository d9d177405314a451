/**
 * Drive pre-copy by hand, the way QEMU's hw/vfio/migration.c does between its own dirty-page rounds: PRE_COPY,
 * read what PRECOPY_INFO says is pending (stopping early at ENOMSG, "nothing more for now"), ask the policy
 * whether to go on, then PRE_COPY_P2P and STOP_COPY until read() reports the end. Only exported names are used:
 * the typed results of readData() and queryPrecopyInfo() say what happened, no errno numbers are compared.
 *   node --import tsx examples/precopy-loop/main.ts [DEVICE]
 */
import { MigrationSession, openDevice, PrecopyPolicy } from 'vfio-uapi';

const device = await openDevice(process.argv[2] ?? 'emulated:mlx5', { stateSize: 8 << 20 });
// mode 'qemu': one SET per state QEMU sets (PRE_COPY → PRE_COPY_P2P → STOP_COPY on a P2P device).
const session = MigrationSession.open(device, { mode: 'qemu' });
const buf = Buffer.allocUnsafe(1 << 20);
const policy = new PrecopyPolicy({ maxRounds: 5 });

/** Read up to `limit` bytes; stop early when the device has nothing more for now, or at the end. */
function drain(limit: number): { bytes: number; stoppedBy: string } {
  let bytes = 0;
  while (bytes < limit) {
    const r = session.readData(buf, 0, Math.min(buf.length, limit - bytes));
    if (r.kind === 'bytes') bytes += r.bytes;
    else return { bytes, stoppedBy: r.kind === 'nothing-now' ? `${r.errnoName} (nothing more for now)` : r.kind };
  }
  return { bytes, stoppedBy: 'the budget' };
}

try {
  session.moveTo('PRE_COPY');
  for (let round = 1; ; round++) {
    const info = session.queryPrecopyInfo();
    if (!info.ok) throw new Error(`PRECOPY_INFO: ${info.reason === 'errno' ? info.errnoName : info.reason}`);
    const got = drain(Number(info.initialBytes + info.dirtyBytes));
    const after = session.queryPrecopyInfo();
    const decision = policy.decide(round, after.ok ? after : null);
    console.log(
      `round ${round}: read ${got.bytes} bytes, stopped by ${got.stoppedBy}; ${decision.stop ? 'stop' : 'continue'}: ${decision.reason}`,
    );
    if (decision.stop) break;
  }
  console.log(`MIG_DATA_SIZE says STOP_COPY will bring about ${session.dataSize() ?? 'an unknown number of'} bytes`);
  session.moveTo('STOP_COPY');
  const rest = drain(Infinity);
  console.log(`stop-copy: read ${rest.bytes} bytes, stopped by ${rest.stoppedBy}`);
  session.moveTo('RUNNING');
  console.log(`SETs: ${session.report.steps.map((s) => `${s.from}->${s.to}`).join(', ')}`);
} finally {
  session.close();
  await device.close();
}
