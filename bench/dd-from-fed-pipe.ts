import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const feeder = fileURLToPath(new URL('./pipe-feeder.ts', import.meta.url));

/**
 * The baseline of the data-fd benches: `dd bs=1M` copying `bytes` from a pipe fed the way the emulator feeds
 * a data fd (bench/pipe-feeder.ts: 1 MiB writes into a 1 MiB pipe) into `output`. A first dd eats the
 * feeder's marker byte, so the timed dd starts once data flows, not during node start-up. Returns dd's own
 * copy time in seconds.
 */
export function ddFromFedPipe(bytes: number, output = '/dev/null', opts: { fullblock?: boolean } = {}): number {
  const flags = opts.fullblock ? ' iflag=fullblock' : '';
  const script =
    `"${process.execPath}" --import tsx "${feeder}" ${bytes} | ` +
    `{ dd bs=1 count=1 of=/dev/null status=none; LC_ALL=C dd of=${output} bs=1M${flags} 2>&1 >/dev/null; }`;
  const report = execFileSync('sh', ['-c', script], { encoding: 'utf8' });
  const m = /(\d+) bytes .* copied, ([\d.]+) s/.exec(report);
  if (!m || Number(m[1]) !== bytes) throw new Error(`unexpected dd report: ${report}`);
  return Number(m[2]);
}
