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
import { close, libc } from '../runtime/sys/index.js';
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
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  let socketOpen = true;
  const closeSocket = () => {
    if (socketOpen) close(ours);
    socketOpen = false;
  };
  return {
    fd: ours,
    closeSocket,
    /** Close our end (the child sees the end of the stream) and wait for its JSON result. */
    async finish(): Promise<ChildLoadResult> {
      closeSocket();
      const code = await exited;
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
): Promise<{
  source: Device;
  save: SaveToResult;
  child: ChildLoadResult;
  sourceDigest: string | null;
  report: MigrationSession['report'];
}> {
  const child = startChildLoad(destinationSpec, childArgs);
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
    // A broken pipe usually means the child refused the stream: its own message says why.
    const childResult = await child.finish();
    session.close();
    await source.close();
    if (!childResult.ok && childResult.error)
      throw new VfioError(`the destination process failed: ${childResult.error}`, {
        kind: (childResult.kind as never) ?? 'kernel',
        op: 'load (child)',
        fdKind: 'stream',
        cause: e,
      });
    throw e;
  }
  session.close();
  const result = await child.finish();
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
