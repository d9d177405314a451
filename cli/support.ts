/**
 * What the device commands (info, save, load, migrate, conform) share: exit codes, turning errors into one
 * line, and turning checked option values (cli/options.ts) into runtime options, plus the progress line on
 * stderr.
 */
import { isVfioError, type FailureKind } from '../runtime/errors.js';
import type { TransferLimits } from '../runtime/stream/limits.js';
import type { ProgressEvent } from '../runtime/stream/progress.js';
import { UsageError } from './options.js';
import { interruptedBy, oneLine, SIGNAL_EXIT } from './process-guard.js';

export { UsageError };

export const EXIT_CODES = {
  ok: 0,
  failure: 1,
  usage: 2,
  cannotOpen: 3,
  noMigration: 4,
  refused: 5,
  badStream: 6,
  io: 7,
  verification: 8,
  /** Stopped by SIGINT (128 + 2); SIGTERM gives 143. */
  interrupted: 130,
} as const;

export { EXIT_HELP, DEVICE_HELP } from './help-text.js';

const BY_KIND: Record<FailureKind, number> = {
  'not-found': EXIT_CODES.cannotOpen,
  permission: EXIT_CODES.cannotOpen,
  'not-vfio': EXIT_CODES.cannotOpen,
  'no-migration': EXIT_CODES.noMigration,
  refused: EXIT_CODES.refused,
  kernel: EXIT_CODES.failure,
  'bad-stream': EXIT_CODES.badStream,
  io: EXIT_CODES.io,
  verification: EXIT_CODES.verification,
  usage: EXIT_CODES.usage,
  cancelled: EXIT_CODES.interrupted,
};

/** The documented exit code for an error (EXIT_HELP); a cancellation gives the signal's (130, 143). */
export function exitCodeOf(e: unknown): number {
  if (isVfioError(e)) return e.kind === 'cancelled' ? SIGNAL_EXIT[interruptedBy() ?? 'SIGINT'] : BY_KIND[e.kind];
  const err = e as Error & { code?: string };
  const usage =
    err.code?.startsWith('ERR_PARSE_ARGS') || err.code === 'ERR_VFIO_UAPI_TOOLS_MISSING' || err instanceof UsageError;
  return usage ? EXIT_CODES.usage : EXIT_CODES.failure;
}

/**
 * Print one clear line (or a JSON object with --json) for an error; return the exit code. `context` adds
 * what the person needs to know after the error (e.g. that the output was not written).
 */
export function reportError(command: string, e: unknown, json: boolean, context = ''): number {
  if (isVfioError(e)) {
    const message = oneLine(e.message + context);
    if (json) console.log(JSON.stringify({ ok: false, ...e.toJSON(), error: message }));
    else console.error(`vfio-uapi ${command}: ${message}`);
    if (process.env.VFIO_UAPI_DEBUG) console.error(e.stack);
    return exitCodeOf(e);
  }
  const err = e as Error;
  const code = exitCodeOf(e);
  const message = oneLine(String(err?.message ?? err));
  if (json)
    console.log(JSON.stringify({ ok: false, error: message, kind: code === EXIT_CODES.usage ? 'usage' : 'failure' }));
  else console.error(`vfio-uapi ${command}: ${message}`);
  if (process.env.VFIO_UAPI_DEBUG) console.error(err?.stack);
  return code;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/**
 * What a person needs after a save that failed once the device was open: that the output was not written
 * (a path keeps what it held). Where the device ended is in the error's own outcome.
 */
export function afterFailedSave(output: string): string {
  const what =
    output === '-' || output.startsWith('fd:') || output.startsWith('unix:')
      ? `; the stream to ${output} is incomplete`
      : `; ${output} was not written (anything there before is untouched)`;
  return what;
}

/** Emulator options from checked values. */
export function emulatorOptions(values: { size?: number; seed?: number }) {
  return {
    ...(values.size !== undefined ? { stateSize: values.size } : {}),
    ...(values.seed !== undefined ? { seed: values.seed } : {}),
  };
}

/** Session options from checked values. */
export function sessionOptions(values: {
  mode: 'stepwise' | 'direct' | 'qemu';
  guard: 'strict' | 'audit';
  'precopy-info-v2'?: boolean;
}) {
  return {
    mode: values.mode,
    guard: values.guard,
    ...(values['precopy-info-v2'] ? { precopyInfoV2: true } : {}),
  } as const;
}

/** Bounds and the interrupt signal for a transfer. */
export function transferLimits(
  values: { 'connect-timeout'?: number; 'io-timeout'?: number },
  signal: AbortSignal,
): TransferLimits {
  return {
    ...(values['connect-timeout'] !== undefined ? { connectTimeoutMs: values['connect-timeout'] } : {}),
    ...(values['io-timeout'] !== undefined ? { ioTimeoutMs: values['io-timeout'] } : {}),
    signal,
  };
}

/** Save options from TRANSFER_OPTIONS: pre-copy on or off, the policy's limits, progress and logged decisions. */
export function transferOptions(
  values: { 'no-precopy': boolean; 'max-rounds'?: number; 'dirty-threshold'?: number; quiet: boolean },
  json: boolean,
) {
  return {
    precopy: values['no-precopy'] ? false : undefined,
    policy: {
      ...(values['max-rounds'] !== undefined ? { maxRounds: values['max-rounds'] } : {}),
      ...(values['dirty-threshold'] !== undefined ? { dirtyThreshold: values['dirty-threshold'] } : {}),
    },
    onProgress: progressPrinter(!values.quiet && !(json && !process.stderr.isTTY)),
    onDecision:
      values.quiet || json
        ? undefined
        : (d: { round: number; stop: boolean; reason: string }) =>
            console.error(`pre-copy round ${d.round}: ${d.stop ? 'stop' : 'continue'} — ${d.reason}`),
  };
}

/**
 * Progress on stderr. On a TTY: a bar redrawn in place. Otherwise: one plain line per second at most.
 * `--quiet` or `--json` with a non-TTY stderr may turn it off entirely.
 */
export function progressPrinter(enabled: boolean): ((e: ProgressEvent) => void) | undefined {
  if (!enabled) return undefined;
  const tty = process.stderr.isTTY === true;
  let lastLine = 0;
  return (e) => {
    const label =
      e.phase === 'precopy' ? `pre-copy round ${e.round}` : e.phase === 'stopcopy' ? 'stop-copy' : 'resuming';
    const of = e.estimate ? ` of ~${formatBytes(e.estimate)}` : '';
    const text = `${label}: ${formatBytes(e.phaseBytes)}${of}  total ${formatBytes(e.totalBytes)}  ${formatBytes(e.rate)}/s`;
    if (tty) {
      const width = 24;
      const frac = e.estimate ? Math.min(1, e.phaseBytes / e.estimate) : e.done ? 1 : 0;
      const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
      process.stderr.write(`\r[${bar}] ${text}\x1b[K${e.done ? '\n' : ''}`);
      return;
    }
    const now = Date.now();
    if (!e.done && now - lastLine < 1000) return;
    lastLine = now;
    process.stderr.write(`${text}${e.done ? ' (done)' : ''}\n`);
  };
}
