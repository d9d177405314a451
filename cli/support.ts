/**
 * What the device commands (info, save, load, migrate) share: exit codes, turning errors into one line,
 * sizes like `256MiB`, device options, and the progress line on stderr.
 */
import { isVfioError, type FailureKind } from '../runtime/errors.js';
import type { ProgressEvent } from '../runtime/stream/progress.js';

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
};

/** The documented exit code for an error (EXIT_HELP). */
export function exitCodeOf(e: unknown): number {
  if (isVfioError(e)) return BY_KIND[e.kind];
  const err = e as Error & { code?: string };
  return err.code?.startsWith('ERR_PARSE_ARGS') || err instanceof UsageError ? EXIT_CODES.usage : EXIT_CODES.failure;
}

/** Print one clear line (or a JSON object with --json) for an error; return the exit code. */
export function reportError(command: string, e: unknown, json: boolean): number {
  if (isVfioError(e)) {
    if (json) console.log(JSON.stringify({ ok: false, ...e.toJSON() }));
    else console.error(`vfio-uapi ${command}: ${e.message}`);
    if (process.env.VFIO_UAPI_DEBUG) console.error(e.stack);
    return BY_KIND[e.kind];
  }
  const err = e as Error & { code?: string };
  const usage =
    err.code?.startsWith('ERR_PARSE_ARGS') || err.code === 'ERR_VFIO_UAPI_TOOLS_MISSING' || err instanceof UsageError;
  if (json) console.log(JSON.stringify({ ok: false, error: err.message, kind: usage ? 'usage' : 'failure' }));
  else console.error(`vfio-uapi ${command}: ${err.message}`);
  if (process.env.VFIO_UAPI_DEBUG) console.error(err.stack);
  return usage ? EXIT_CODES.usage : EXIT_CODES.failure;
}

export class UsageError extends Error {}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  kib: 1024,
  m: 1e6,
  mb: 1e6,
  mib: 1 << 20,
  g: 1e9,
  gb: 1e9,
  gib: 1 << 30,
};

/** `256MiB` → 268435456. */
export function parseSize(text: string, what = 'size'): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined)
    throw new UsageError(`${what} "${text}" is not a size (like 4096, 64KiB, 256MiB, 1GiB)`);
  return Math.round(Number(m[1]) * unit);
}

export function parseCount(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${what} "${text}" is not a whole number`);
  return n;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/** Options every device command takes. */
export const DEVICE_OPTIONS = {
  json: { type: 'boolean' },
  size: { type: 'string' },
  seed: { type: 'string' },
  mode: { type: 'string' },
  guard: { type: 'string' },
} as const;

export function sessionOptions(values: { mode?: string; guard?: string; 'precopy-info-v2'?: boolean }) {
  const mode = values.mode ?? 'stepwise';
  const guard = values.guard ?? 'strict';
  if (mode !== 'stepwise' && mode !== 'direct' && mode !== 'qemu')
    throw new UsageError(`--mode must be stepwise, direct or qemu, not "${mode}"`);
  if (guard !== 'strict' && guard !== 'audit') throw new UsageError(`--guard must be strict or audit, not "${guard}"`);
  return { mode, guard, ...(values['precopy-info-v2'] ? { precopyInfoV2: true } : {}) } as const;
}

export function emulatorOptions(values: { size?: string; seed?: string }) {
  return {
    ...(values.size ? { stateSize: parseSize(values.size, '--size') } : {}),
    ...(values.seed ? { seed: parseCount(values.seed, '--seed') } : {}),
  };
}

/** The pre-copy and progress options `save` and `migrate` share. */
export const TRANSFER_OPTIONS = {
  'no-precopy': { type: 'boolean' },
  'precopy-info-v2': { type: 'boolean' },
  'max-rounds': { type: 'string' },
  'dirty-threshold': { type: 'string' },
  quiet: { type: 'boolean' },
} as const;

/** Save options from TRANSFER_OPTIONS: pre-copy on or off, the policy's limits, progress and logged decisions. */
export function transferOptions(
  values: { 'no-precopy'?: boolean; 'max-rounds'?: string; 'dirty-threshold'?: string; quiet?: boolean },
  json: boolean,
) {
  return {
    precopy: values['no-precopy'] ? false : undefined,
    policy: {
      ...(values['max-rounds'] ? { maxRounds: parseCount(values['max-rounds'], '--max-rounds') } : {}),
      ...(values['dirty-threshold']
        ? { dirtyThreshold: parseSize(values['dirty-threshold'], '--dirty-threshold') }
        : {}),
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
