/**
 * Migration across two processes: this process saves the source into one end of a Unix socketpair; a child
 * `vfio-uapi load` process reads the other end (as fd 3) into the destination and reports as JSON.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';
import type { Device } from '../runtime/device/device.js';
import { isVfioError, VfioError } from '../runtime/errors.js';
import type { DeviceOutcome } from '../runtime/migration/outcome.js';
import type { Verification } from '../runtime/migrate.js';
import { MigrationSession, type SessionOptions } from '../runtime/migration/session.js';
import { close, Errno, libc } from '../runtime/sys/index.js';
import { DEFAULT_IO_TIMEOUT_MS } from '../runtime/stream/limits.js';
import { saveToEndpoint, type SaveToResult } from '../runtime/stream/file.js';
import { checkSaveStart, type SaveStreamOptions } from '../runtime/stream/save.js';

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
  op?: string;
  /** The child's own outcome list (its destination device), as `vfio-uapi load --json` prints it. */
  outcome?: DeviceOutcome[];
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
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  let socketOpen = true;
  const closeSocket = () => {
    if (socketOpen) close(ours);
    socketOpen = false;
  };
  return {
    fd: ours,
    pid: child.pid,
    closeSocket,
    /**
     * Close our end (the child sees the end of the stream) and wait for its JSON result, at most `waitMs`:
     * a child that does not end by then (stopped, or stuck) is killed, so this process never hangs on it.
     */
    async finish(waitMs: number): Promise<ChildLoadResult> {
      closeSocket();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), waitMs)));
      const ended = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (ended === null) {
        child.kill('SIGKILL');
        const { code, signal } = await exited;
        return { ...parseChild(stdout, code, signal, destinationSpec), killed: true };
      }
      return parseChild(stdout, ended.code, ended.signal, destinationSpec);
    },
    kill() {
      closeSocket();
      child.kill();
    },
  };
}

/**
 * Migrate into a child `vfio-uapi load` process, by the commit protocol (runtime/migration/PROTOCOL.md): the
 * source is stopped once its stream is out, and resumed unless the child confirms RUNNING. Whatever fails,
 * the error names the failing side and the call, and carries both devices' outcomes (the destination's as
 * the child reported it, or `unknown` if it died without a word).
 */
export async function migrateToChild(
  openSource: () => Promise<Device>,
  destinationSpec: string,
  childArgs: string[],
  opts: SaveStreamOptions & {
    session?: SessionOptions;
    /** Called with the destination process's pid once it is started (to watch it; tests kill it). */
    onChildStarted?: (pid: number) => void;
  },
): Promise<{
  source: Device;
  save: SaveToResult;
  child: ChildLoadResult;
  sourceDigest: string | null;
  report: MigrationSession['report'];
  outcome: DeviceOutcome[];
}> {
  const child = startChildLoad(destinationSpec, childArgs);
  if (child.pid !== undefined) opts.onChildStarted?.(child.pid);
  // The child is the peer: it gets as long to answer as it may stall the stream (and 2 s at least to exit).
  const answerMs = Math.max(opts.ioTimeoutMs ?? DEFAULT_IO_TIMEOUT_MS, 2000);
  let source: Device;
  try {
    source = await openSource();
  } catch (e) {
    child.kill();
    throw e;
  }
  const name = source.id.spec;
  const session = MigrationSession.open(source, { ...opts.session, role: 'source' });
  /** Where both devices ended: the source by its session, the destination as its process reported. */
  const outcomes = (result: ChildLoadResult) => [session.outcome(), ...childOutcome(result, destinationSpec)];
  try {
    checkSaveStart(session);
  } catch (e) {
    child.kill();
    session.close();
    throw isVfioError(e) ? e.placeOn('source', name) : e;
  }
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
      finalState: 'STOP',
      afterStopCopy: async () => {
        sourceDigest = (await source.snapshot())?.digest ?? null;
      },
    });
  } catch (e) {
    // The source has recovered (it runs again). Closing the socket ends the child's stream: it resets its device.
    session.close();
    const result = await child.finish(answerMs);
    const err = e as VfioError;
    // A stalled child or a cancellation is this side's story (the child, killed or told the stream ended, has none).
    if (isVfioError(err) && (err.kind === 'cancelled' || err.errno === Errno.ETIMEDOUT))
      throw (
        result.killed
          ? new VfioError(`${err.detail}; the destination process did not end and was killed`, {
              kind: err.kind,
              op: err.op,
              fdKind: err.fdKind,
              state: err.state,
              errno: err.errno,
              cause: err,
            })
          : err
      )
        .placeOn('source', name)
        .withOutcome(outcomes(result));
    // A write to the socket that failed means the destination went away or refused the stream: its failure.
    const peerGone = isVfioError(err) && err.kind === 'io' && err.op === 'write the socket to the destination process';
    if (peerGone && !result.ok) throw childFailure(result, destinationSpec, err).withOutcome(outcomes(result));
    throw (isVfioError(err) ? err : new VfioError(String(err), { kind: 'kernel', op: 'save', fdKind: 'stream' }))
      .placeOn('source', name)
      .withOutcome(outcomes(result));
  }
  session.close();
  const result = await child.finish(answerMs);
  if (!result.ok) {
    // The destination did not confirm: resume the source (back to where it started).
    session.recover(`the destination failed: ${result.error ?? 'no result'}`);
    throw childFailure(result, destinationSpec, null).withOutcome(outcomes(result));
  }
  const outcome = [session.outcome('completed'), ...childOutcome(result, destinationSpec)];
  return { source, save, child: result, sourceDigest, report: session.report, outcome };
}

/**
 * The destination process's digest against the source's (only emulated devices have one): the verification a
 * migration reports. A mismatch throws (exit 8).
 */
export function verifyChild(result: ChildLoadResult, sourceDigest: string | null): Verification {
  const destinationDigest = result.digest ?? null;
  const equal = sourceDigest !== null && destinationDigest !== null ? destinationDigest === sourceDigest : null;
  if (equal === false)
    throw new VfioError(
      `verification failed: destination digest ${destinationDigest} differs from the source's ${sourceDigest}`,
      { kind: 'verification', op: 'verify', fdKind: 'device' },
    );
  return {
    checked: equal !== null,
    equal,
    sourceDigest,
    destinationDigest,
    differedBefore: result.digestBefore && sourceDigest ? result.digestBefore !== sourceDigest : null,
  };
}

/** The destination's outcome as the child reported it, or `unknown`. */
export function childOutcome(result: ChildLoadResult, spec: string): DeviceOutcome[] {
  const reported = result.outcome?.filter((o) => o.role === 'destination');
  if (reported?.length) return reported;
  return [{ role: 'destination', device: spec, state: null, action: 'unknown', detail: result.error ?? 'no result' }];
}

/** The child's failure as this process's error: the destination side, its call, its exit category. */
export function childFailure(result: ChildLoadResult, spec: string, cause: VfioError | null): VfioError {
  const known = [
    'bad-stream',
    'kernel',
    'refused',
    'io',
    'usage',
    'no-migration',
    'not-found',
    'permission',
    'not-vfio',
    'verification',
  ];
  const kind = (known.includes(result.kind ?? '') ? result.kind : 'kernel') as VfioError['kind'];
  const detail = (result.error ?? 'no result').replace(/ — destination .*$/, '');
  return new VfioError(`the destination process failed: ${detail}`, {
    kind,
    op: result.op ? `${result.op} (destination process)` : 'load (destination process)',
    fdKind: 'stream',
    ...(cause ? { cause } : {}),
  }).placeOn('destination', spec);
}

function parseChild(stdout: string, code: number | null, signal: string | null, spec: string): ChildLoadResult {
  try {
    return JSON.parse(stdout.trim().split('\n').pop() ?? '') as ChildLoadResult;
  } catch {
    const how = signal ? `was killed by ${signal}` : `exited with ${code} and no result`;
    return {
      ok: false,
      kind: 'kernel',
      op: 'load',
      error: `the destination process ${how} before it confirmed the load`,
      outcome: [
        {
          role: 'destination',
          device: spec,
          state: null,
          action: 'unknown',
          detail: `its process ${how}; an emulated device dies with it`,
        },
      ],
    };
  }
}
