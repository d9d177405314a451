/**
 * Migration across two processes: this process saves the source into one end of a Unix socketpair; a child
 * `vfio-uapi load` process reads the other end (as fd 3) into the destination and reports as JSON.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';
import type { Device } from '../runtime/device/device.js';
import { VfioError } from '../runtime/errors.js';
import { MigrationSession, type SessionOptions } from '../runtime/migration/session.js';
import { close, Errno, libc } from '../runtime/sys/index.js';
import { DEFAULT_IO_TIMEOUT_MS } from '../runtime/stream/limits.js';
import { saveToEndpoint, type SaveToResult } from '../runtime/stream/file.js';
import type { SaveStreamOptions } from '../runtime/stream/save.js';

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const socketpairC = libc.func('int socketpair(int domain, int type, int protocol, _Out_ int *sv)') as (
  d: number,
  t: number,
  p: number,
  sv: Int32Array,
) => number;

/** A connected pair of blocking Unix stream sockets, close-on-exec. */
export function socketPair(): [number, number] {
  const sv = new Int32Array(2);
  if (socketpairC(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    throw VfioError.fromErrno('socketpair', 'stream', koffi.errno(), { kind: 'io' });
  return [sv[0]!, sv[1]!];
}

export interface ChildLoadResult {
  ok: boolean;
  digest?: string | null;
  digestBefore?: string | null;
  streamBytes?: number;
  error?: string;
  kind?: string;
  [k: string]: unknown;
}

// The package's command: beside the compiled code (dist/cli/ → bin/), or, from the sources, the checkout's.
const BIN = import.meta.url.endsWith('.ts') ? '../packages/vfio-uapi/bin/vfio-uapi.js' : '../../bin/vfio-uapi.js';

/**
 * Start the destination process. Call this BEFORE this process starts its emulator: a seccomp filter with a
 * listener is inherited by children, and the kernel then refuses the child's own listener (EBUSY).
 */
export function startChildLoad(destinationSpec: string, childArgs: string[]) {
  const [ours, theirs] = socketPair();
  const bin = fileURLToPath(new URL(BIN, import.meta.url));
  const child = spawn(process.execPath, [bin, 'load', destinationSpec, 'fd:3', '--json', '--quiet', ...childArgs], {
    stdio: ['ignore', 'pipe', 'inherit', theirs],
  });
  close(theirs);
  let stdout = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  const exited = new Promise<number>((resolve) =>
    child.on('close', (code, signal) => resolve(code ?? (signal === 'SIGKILL' ? 137 : 1))),
  );
  let socketOpen = true;
  const closeSocket = () => {
    if (socketOpen) close(ours);
    socketOpen = false;
  };
  return {
    fd: ours,
    closeSocket,
    pid: child.pid,
    /**
     * Close our end (the child sees the end of the stream) and wait for its JSON result, at most `waitMs`:
     * a child that does not end by then (stopped, or stuck) is killed, so this process never hangs on it.
     */
    async finish(waitMs = Infinity): Promise<ChildLoadResult> {
      closeSocket();
      let timer: NodeJS.Timeout | undefined;
      const late = Number.isFinite(waitMs)
        ? new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), waitMs)))
        : new Promise<null>(() => {});
      const code = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (code === null) {
        child.kill('SIGKILL');
        await exited;
        return {
          ok: false,
          killed: true,
          error: `the destination process gave no result within ${waitMs} ms and was killed`,
        };
      }
      return parseChild(stdout, code);
    },
    kill() {
      closeSocket();
      child.kill();
    },
  };
}

export async function migrateToChild(
  openSource: () => Promise<Device>,
  destinationSpec: string,
  childArgs: string[],
  opts: SaveStreamOptions & { session?: SessionOptions },
  onChild?: (pid: number) => void,
): Promise<{
  source: Device;
  save: SaveToResult;
  child: ChildLoadResult;
  sourceDigest: string | null;
  report: MigrationSession['report'];
}> {
  const child = startChildLoad(destinationSpec, childArgs);
  if (child.pid !== undefined) onChild?.(child.pid);
  // The child is the peer: it gets as long to answer as it may stall the stream (and 2 s at least to exit).
  const answerMs = Math.max(opts.ioTimeoutMs ?? DEFAULT_IO_TIMEOUT_MS, 2000);
  let source: Device;
  try {
    source = await openSource();
  } catch (e) {
    child.kill();
    throw e;
  }
  const session = MigrationSession.open(source, opts.session);
  let sourceDigest: string | null = null;
  let save: SaveToResult;
  try {
    const endpoint = {
      fd: child.fd,
      name: 'the socket to the destination process',
      seekable: false,
      size: 0,
      mode: 'socket' as const,
      close() {},
    };
    save = await saveToEndpoint(session, endpoint, {
      ...opts,
      afterStopCopy: async () => {
        sourceDigest = (await source.snapshot())?.digest ?? null;
      },
    });
  } catch (e) {
    // A broken pipe usually means the child refused the stream: its own message says why. A cancellation
    // or a stalled child is this side's story (the child, killed or told the stream ended, has none).
    const childResult = await child.finish(answerMs);
    session.close(); // the source device stays open: the caller closes it (and can still ask its state)
    const own = e instanceof VfioError && (e.kind === 'cancelled' || e.errno === Errno.ETIMEDOUT);
    if (own && childResult.killed)
      throw new VfioError(`${e.message}; the destination process did not end and was killed`, {
        kind: e.kind,
        op: e.op,
        fdKind: e.fdKind,
        state: e.state,
        errno: e.errno,
        cause: e,
      });
    if (!own && !childResult.ok && childResult.error)
      throw new VfioError(`the destination process failed: ${childResult.error}`, {
        kind: (childResult.kind as never) ?? 'kernel',
        op: 'load (child)',
        fdKind: 'stream',
        cause: e,
      });
    throw e;
  }
  session.close();
  const result = await child.finish(answerMs);
  if (!result.ok)
    throw new VfioError(`the destination process failed: ${result.error}`, {
      kind: (result.kind as never) ?? 'kernel',
      op: 'load (child)',
      fdKind: 'stream',
    });
  return { source, save, child: result, sourceDigest, report: session.report };
}

function parseChild(stdout: string, code: number): ChildLoadResult {
  try {
    return JSON.parse(stdout.trim().split('\n').pop() ?? '') as ChildLoadResult;
  } catch {
    return {
      ok: false,
      error: `the destination process exited with ${code} and no result (${JSON.stringify(stdout.slice(-300))})`,
    };
  }
}
