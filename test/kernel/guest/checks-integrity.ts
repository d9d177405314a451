// The load fault matrix on a real kernel: the cases of test/fault-matrix/load-cases.ts (issue 12: one byte
// flipped in each region of a saved file — file header, device stream header, body, trailer — and a cut at each
// region boundary), each fed to the real mtty destination as a file and through a pipe, through the runtime's
// loadDevice. A damaged stream never runs: the load fails as a bad stream naming the damage, the destination
// ends RUNNING with its UART registers as they were before the load (mtty's reset leaves them alone, so that is
// also their value after a reset: see reset.registers), and a good load afterwards takes the source's state.
// The case table is loaded at run time (bundled next to this file when the repository has it), so a branch
// without it fails this group, saying so, and runs every other.
import { existsSync } from 'node:fs';
import {
  loadDevice,
  openDevice,
  VfioError,
  type Device,
  type DeviceSpec,
  type Endpoint,
} from '../../../runtime/index.js';
import { close, F_SETPIPE_SZ, fcntl, O_CLOEXEC, pipe2OrThrow } from '../../../runtime/sys/index.js';
import { writeAll } from '../../../runtime/stream/fd-io.js';
import type { CheckList } from './check.js';

/** What the guest needs of the case table (test/fault-matrix/load-cases.ts). */
interface CaseTable {
  DEVICE_STREAM_HEADER_BYTES: { mtty: number };
  layoutOf(file: Buffer, deviceHeaderBytes: number): unknown;
  LOAD_CASES: readonly { name: string; region: string; kind: string; damage(good: Buffer, layout: never): Buffer }[];
  expectedFor(
    c: CaseTable['LOAD_CASES'][number],
    feed: 'file' | 'pipe',
    personality: 'mtty',
  ): { action: string; message: RegExp };
}

/** The bundled case table, or null when this checkout has none. */
async function caseTable(): Promise<CaseTable | null> {
  const url = new URL('./load-cases.mjs', import.meta.url);
  if (!existsSync(url)) return null;
  return (await import(url.href)) as CaseTable;
}

/** The damaged bytes through a pipe, written whole before the load reads them (a saved mtty state is ~200 B). */
function pipeOf(bytes: Buffer): Endpoint {
  const [readEnd, writeEnd] = pipe2OrThrow(O_CLOEXEC);
  fcntl(writeEnd, F_SETPIPE_SZ, 1 << 16);
  writeAll(writeEnd, bytes, bytes.length, { eintr: 0, eagain: 0, enomsg: 0 });
  close(writeEnd);
  return { fd: readEnd, name: 'the pipe', seekable: false, size: 0, close: () => void close(readEnd) };
}

export interface IntegrityTarget {
  destination: DeviceSpec;
  /** A good saved file of the source, and the destination's registers once it is loaded. */
  goodFile: string;
  goodPorts: string;
  /** Puts the recognisable "before" state into the destination; reads the registers back (draining the FIFO). */
  program(device: Device): void;
  before: string;
  readPorts(device: Device): string;
  workDir: string;
}

export async function runIntegrityChecks(list: CheckList, target: IntegrityTarget): Promise<void> {
  const table = await caseTable();
  if (
    !list.expect(
      'integrity.case-table',
      'test/fault-matrix/load-cases.ts',
      table ? 'test/fault-matrix/load-cases.ts' : 'absent: the load fault matrix of issue 12 is not on this branch yet',
    )
  )
    return;
  const { readFileSync, writeFileSync } = await import('node:fs');
  const good = readFileSync(target.goodFile);
  const layout = table!.layoutOf(good, table!.DEVICE_STREAM_HEADER_BYTES.mtty) as never;
  const device = await openDevice(target.destination);
  try {
    for (const c of table!.LOAD_CASES) {
      for (const feed of ['file', 'pipe'] as const) {
        const id = `integrity.${c.region.replaceAll(' ', '-')}.${c.kind}.${feed}`;
        await list.step(id, async () => {
          const expected = table!.expectedFor(c, feed, 'mtty');
          device.reset();
          target.program(device);
          const bad = c.damage(good, layout);
          let input: string | Endpoint;
          if (feed === 'file') {
            input = `${target.workDir}/damaged.vfio`;
            writeFileSync(input, bad);
          } else input = pipeOf(bad);
          const error = await loadDevice(device, input).then(
            () => null,
            (e: unknown) => e,
          );
          if (typeof input !== 'string') input.close();
          const failure =
            error instanceof VfioError
              ? `${error.kind}${expected.message.test(error.message) ? '' : `: ${error.message}`}`
              : error
                ? `not a VfioError: ${String(error)}`
                : 'loaded';
          const outcome = (error as { outcome?: { state?: string; action?: string }[] } | null)?.outcome?.[0];
          list.expect(
            id,
            `bad-stream; ${expected.action}, RUNNING; ${target.before}`,
            `${failure}; ${outcome?.action ?? 'no outcome'}, ${device.state()}; ${target.readPorts(device)}`,
            c.name,
          );
        });
      }
    }
    await list.step('integrity.good-load-after', async () => {
      device.reset();
      target.program(device);
      const r = await loadDevice(device, target.goodFile);
      list.expect(
        'integrity.good-load-after',
        `RUNNING; ${target.goodPorts}`,
        `${device.state()}; ${target.readPorts(device)}`,
        `${r.streamBytes} stream bytes loaded after ${table!.LOAD_CASES.length * 2} damaged ones`,
      );
    });
  } finally {
    await device.close();
  }
}
