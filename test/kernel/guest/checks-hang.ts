// Opt-in: STOP_COPY → PRE_COPY on mtty (forbidden by the uAPI) never returns on a kernel before a26b499b757c
// (6.12.95 here; the host boots this guest on the kernels the spec's version data says hang).
// A child pinned to CPU 1 issues the request with the runtime's unguarded SET (Device.setStateRaw, which
// MigrationSession never uses for a forbidden arc); this process stays on CPU 0 as the watchdog.
import { spawn } from 'node:child_process';
import { openDevice } from '../../../runtime/index.js';
import { CheckList } from './check.js';
import { errnoName, iommuGroupOf, listDir, sys } from './vfio-ops.js';

const mdevRoot = '/sys/bus/mdev/devices';
const requestingMarker = 'requesting PRE_COPY';
const watchdogMilliseconds = 5000;

/** The child side: runs on CPU 1 and is expected never to print the second line. */
export async function triggerHang(): Promise<void> {
  sys.pinToCpu(1);
  const [uuid] = listDir(mdevRoot);
  if (!uuid) throw new Error('no mdev');
  const device = await openDevice(`/dev/vfio/${iommuGroupOf(`${mdevRoot}/${uuid}`)}:${uuid}`);
  const answer = (r: { ok: true } | { ok: false; errno: number }) => (r.ok ? '0' : errnoName(r.errno));
  process.stdout.write(`stop-copy ${answer(device.setStateRaw('STOP_COPY'))}\n${requestingMarker}\n`);
  process.stdout.write(`returned ${answer(device.setStateRaw('PRE_COPY'))}\n`);
}

export async function runHangCheck(list: CheckList, entryScript: string): Promise<void> {
  sys.pinToCpu(0);
  const child = spawn(process.execPath, [entryScript, 'hang-trigger'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  const observed = await new Promise<string>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const returned = /returned (\S+)/.exec(output);
      if (returned) resolve(`returned ${returned[1]}`);
      else if (output.includes(requestingMarker) && !timer) {
        timer = setTimeout(() => resolve('hang'), watchdogMilliseconds);
      }
    });
    child.on('exit', (code) => resolve(`child exited ${code} before returning`));
  });
  list.expect(
    'blocked.hang.stop-copy-to-pre-copy',
    'hang',
    observed,
    'the uAPI forbids STOP_COPY → PRE_COPY; on this kernel the request spins in vfio_mig_get_next_state',
  );
}
