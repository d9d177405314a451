/**
 * Options from one declaration: each command lists its options as a table of typed declarations (one line
 * each), and the same table parses the command line, checks every value (type, unit, range, choice) before
 * anything is opened, and writes the options part of `--help`. Tokens are split by node:util's parseArgs
 * (strict: unknown options and missing values are errors); a bad value is one line naming the option and
 * what was given, and exit code 2.
 *
 *   const OPTIONS = { raw: flag('write the bare stream'), size: size('state size', { max: memoryBound }) };
 *   const { values, positionals } = parseCommandLine(args, OPTIONS, [DEVICE, OUTPUT]);
 *
 * No runtime imports here: `--help` stays cheap.
 */
import { realpathSync, statfsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { STATE_NAMES, type StateName } from '../generated/constants.js';
import { PERSONALITIES, parseEmulatedSpec } from '../runtime/emulator/api.js';
import { endpointSyntax } from '../runtime/stream/endpoint-spec.js';

/** A malformed command line or option value: exit code 2. */
export class UsageError extends Error {}

/** An input as messages show it: quoted, with control characters escaped (never raw on a terminal). */
export function quote(text: string): string {
  return JSON.stringify(text);
}

/** One declared option: how it reads, its help line, and its value when absent. */
export interface Opt<T> {
  /** Placeholder in help (`SIZE`, `N`); null for a flag. */
  readonly arg: string | null;
  readonly help: string;
  readonly multiple: boolean;
  /** Turn the text after the option into its value, or throw UsageError naming both. */
  parse(text: string, flag: string): T;
  readonly fallback: T;
}

export type OptionTable = Record<string, Opt<unknown>>;
export type ValuesOf<T extends OptionTable> = { -readonly [K in keyof T]: T[K] extends Opt<infer V> ? V : never };

function bad(flag: string, text: string, why: string): UsageError {
  return new UsageError(`${flag} ${quote(text)}: ${why}`);
}

// ---- builders ----

export function flag(help: string): Opt<boolean> {
  return { arg: null, help, multiple: false, parse: () => true, fallback: false };
}

/** A bound that may depend on the machine (memory, free space), with the reason for messages. */
export type Bound = number | (() => { limit: number; why: string });

function limitOf(b: Bound | undefined): { limit: number; why: string } | null {
  if (b === undefined) return null;
  return typeof b === 'number' ? { limit: b, why: '' } : b();
}

const UNITS: Record<string, bigint> = {
  '': 1n,
  b: 1n,
  k: 1000n,
  kb: 1000n,
  kib: 1024n,
  m: 1000n ** 2n,
  mb: 1000n ** 2n,
  mib: 1024n ** 2n,
  g: 1000n ** 3n,
  gb: 1000n ** 3n,
  gib: 1024n ** 3n,
  t: 1000n ** 4n,
  tb: 1000n ** 4n,
  tib: 1024n ** 4n,
};

/** `256MiB` → 268435456: whole bytes, B to TiB (KiB = 1024, KB = 1000), exact; null if not a size. */
export function sizeBytes(text: string): bigint | null {
  const m = /^(\d{1,20})(?:\.(\d{1,20}))?\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? UNITS[m[3]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) return null;
  const frac = m[2] ?? '';
  const scaled = BigInt(m[1]! + frac) * unit;
  const divisor = 10n ** BigInt(frac.length);
  return scaled % divisor === 0n ? scaled / divisor : null;
}

/** `1.5 GiB`, for messages. */
export function formatSize(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${+v.toFixed(1)} ${units[i]}`;
}

export function size(help: string, o: { min?: number; max?: Bound } = {}): Opt<number | undefined> {
  return {
    arg: 'SIZE',
    help,
    multiple: false,
    fallback: undefined,
    parse(text, flag) {
      if (text.trim() === '') throw bad(flag, text, 'is empty; give a size like 4096, 64KiB, 256MiB, 1GiB');
      const bytes = sizeBytes(text);
      if (bytes === null)
        throw bad(flag, text, 'is not a size in whole bytes (like 4096, 64KiB, 256MiB, 1.5GiB; units B to TiB)');
      if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(flag, text, `is more than ${formatSize(2 ** 53 - 1)}`);
      const n = Number(bytes);
      if (o.min !== undefined && n < o.min) throw bad(flag, text, `is less than ${formatSize(o.min)}`);
      const max = limitOf(o.max);
      if (max && n > max.limit) throw bad(flag, text, `is more than ${formatSize(max.limit)}${max.why}`);
      return n;
    },
  };
}

export function integer<D extends number | undefined = undefined>(
  help: string,
  o: { min: number; max: number; fallback?: D; arg?: string },
): Opt<number | D> {
  return {
    arg: o.arg ?? 'N',
    help,
    multiple: false,
    fallback: o.fallback as D,
    parse(text, flag) {
      if (!/^\d{1,16}$/.test(text)) throw bad(flag, text, `is not a whole number from ${o.min} to ${o.max}`);
      const n = Number(text);
      if (n < o.min || n > o.max) throw bad(flag, text, `is out of range: give ${o.min} to ${o.max}`);
      return n;
    },
  };
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, '': 1000, m: 60_000, min: 60_000, h: 3_600_000 };

/** A duration in ms, 1 ms to 7 days: `500ms`, `10s`, `2m`, `1h`; a plain number is seconds. */
export function duration(help: string): Opt<number | undefined> {
  const min = 1;
  const max = 7 * 86_400_000;
  return {
    arg: 'TIME',
    help,
    multiple: false,
    fallback: undefined,
    parse(text, flag) {
      const m = /^(\d{1,12}(?:\.\d{1,6})?)\s*(ms|s|m|min|h|)$/.exec(text.trim());
      if (!m) throw bad(flag, text, 'is not a duration (like 500ms, 10s, 2m; a plain number is seconds)');
      const ms = Math.round(Number(m[1]) * DURATION_UNITS[m[2]!]!);
      if (ms < min || ms > max) throw bad(flag, text, `is out of range: give ${min} ms to ${max / 86_400_000} days`);
      return ms;
    },
  };
}

export function choice<C extends string, D extends C | undefined = undefined>(
  choices: readonly C[],
  help: string,
  o: { fallback?: D; arg?: string } = {},
): Opt<C | D> {
  return {
    arg: o.arg ?? choices.join('|'),
    help,
    multiple: false,
    fallback: o.fallback as D,
    parse(text, flag) {
      if (!(choices as readonly string[]).includes(text)) throw bad(flag, text, `is not one of ${choices.join(', ')}`);
      return text as C;
    },
  };
}

export function text(help: string, o: { arg: string }): Opt<string | undefined> {
  return {
    arg: o.arg,
    help,
    multiple: false,
    fallback: undefined,
    parse(value, flag) {
      if (value === '') throw bad(flag, value, `is empty; give ${o.arg}`);
      return value;
    },
  };
}

export function list(help: string, o: { arg: string }): Opt<string[]> {
  return {
    arg: o.arg,
    help,
    multiple: true,
    fallback: [],
    parse(value, flag) {
      if (value === '') throw bad(flag, value, `is empty; give ${o.arg}`);
      return [value];
    },
  };
}

// ---- positionals ----

export interface Positional {
  name: string;
  /** The last positional may take one or more values. */
  variadic?: boolean;
  /** Check (and normalise) the text; throw UsageError naming it. */
  check(text: string): string;
}

/** DEVICE: a path or `emulated:PERSONALITY[+QUIRK…]`, checked for form before anything is opened. */
export const DEVICE: Positional = { name: 'DEVICE', check: checkDevice };

export function checkDevice(textValue: string, name = 'DEVICE'): string {
  if (textValue.trim() === '')
    throw new UsageError(
      `${name} is empty: give a device path (/dev/vfio/devices/vfioN, /dev/vfio/GROUP:NAME) or emulated:PERSONALITY (${PERSONALITIES.join(', ')})`,
    );
  try {
    parseEmulatedSpec(textValue);
  } catch (e) {
    throw new UsageError(`${name} ${quote(textValue)}: ${(e as Error).message}`);
  }
  return textValue;
}

/** A stream endpoint (`-`, `fd:N`, `unix:/PATH`, a path), checked for form. */
export function endpoint(name: string): Positional {
  return {
    name,
    check(value) {
      try {
        endpointSyntax(value);
      } catch (e) {
        throw new UsageError((e as Error).message); // it names the endpoint
      }
      return value;
    },
  };
}

// ---- parsing and help ----

/**
 * Split and check a command line against a table of options and the expected positionals. Values absent
 * from the command line take their declared fallback.
 */
export function parseCommandLine<T extends OptionTable>(
  args: string[],
  table: T,
  positionals: readonly Positional[],
): { values: ValuesOf<T>; positionals: string[] } {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args,
      options: Object.fromEntries(
        Object.entries(table).map(([name, o]) => [
          name,
          { type: o.arg === null ? 'boolean' : 'string', multiple: o.multiple },
        ]),
      ) as NonNullable<Parameters<typeof parseArgs>[0]>['options'],
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    // parseArgs's own messages are one line and name the option; keep them, minus its long advice.
    throw new UsageError((e as Error).message.replace(/\. To specify a positional argument.*$/, ''));
  }
  const values: Record<string, unknown> = {};
  for (const [name, o] of Object.entries(table)) {
    const raw = parsed.values[name];
    if (raw === undefined) values[name] = o.fallback;
    else if (o.arg === null) values[name] = true;
    else if (o.multiple) values[name] = (raw as string[]).flatMap((v) => o.parse(v, `--${name}`) as string[]);
    else values[name] = o.parse(raw as string, `--${name}`);
  }
  const given = parsed.positionals;
  const variadic = positionals.at(-1)?.variadic === true;
  if (variadic ? given.length < positionals.length : given.length !== positionals.length) {
    const want = positionals.map((p) => p.name);
    const wanted = variadic
      ? `at least one ${want.at(-1)}`
      : want.length === 1
        ? `exactly one ${want[0]}`
        : `${want.slice(0, -1).join(', ')} and ${want.at(-1)}`;
    const got = given.length ? `got ${given.length}: ${given.map(quote).join(' ')}` : 'got none';
    throw new UsageError(`give ${wanted} (${got})`);
  }
  const checked = given.map((g, i) => positionals[Math.min(i, positionals.length - 1)]!.check(g));
  return { values: values as ValuesOf<T>, positionals: checked };
}

/** The options part of `--help`, from the table: one line per option (continuations indented). */
export function optionsHelp(table: OptionTable): string {
  const heads = Object.entries(table).map(([name, o]) => `  --${name}${o.arg ? ` ${o.arg}` : ''}`);
  const width = Math.min(28, Math.max(...heads.map((h) => h.length)) + 2);
  return Object.values(table)
    .map((o, i) => {
      const head = heads[i]!;
      const lines = o.help.split('\n');
      const first = head.length < width ? head.padEnd(width) + lines[0] : `${head}\n${''.padEnd(width)}${lines[0]}`;
      return [first, ...lines.slice(1).map((l) => ''.padEnd(width) + l)].join('\n');
    })
    .join('\n');
}

// ---- the options the device commands share ----

/** An emulated device's state is generated, but a real device's must fit its memory: so must ours. */
const memoryBound: Bound = () => ({
  limit: totalmem(),
  why: ": an emulated device's state must fit in this machine's memory",
});

/** States a device can be moved to (ERROR is where a failing device ends, never a request). */
export const SETTABLE_STATES = STATE_NAMES.filter((s) => s !== 'ERROR') as Exclude<StateName, 'ERROR'>[];

/** Every device command. */
export const DEVICE_OPTIONS = {
  json: flag('print one JSON object on stdout (errors too)'),
  size: size("state size of emulated mlx5 devices (e.g. 64MiB; B to TiB, at most this machine's memory)", {
    min: 1,
    max: memoryBound,
  }),
  seed: integer("seed of the first emulated device's state (later ones get N+1, …); 0 to 4294967295", {
    min: 0,
    max: 0xffffffff,
  }),
  mode: choice(
    ['stepwise', 'direct', 'qemu'] as const,
    'stepwise (one SET per arc, each verified; default), direct (one SET of the target)\nor qemu (the SETs QEMU sends: through PRE_COPY_P2P / RUNNING_P2P when the device has P2P)',
    { fallback: 'stepwise', arg: 'M' },
  ),
  guard: choice(
    ['strict', 'audit'] as const,
    'strict (refuse forbidden calls before the syscall; default) or audit (issue and record)',
    {
      fallback: 'strict',
      arg: 'G',
    },
  ),
};

/** The commands that move a stream through a file, pipe or socket (save, load, migrate). */
export const STREAM_OPTIONS = {
  'connect-timeout': duration('longest wait for the other side to listen, connect or open a FIFO (default 60s)'),
  'io-timeout': duration('longest the other side (pipe, socket, FIFO) may take or send nothing (default 60s)'),
  quiet: flag('no progress on stderr'),
};

/** The pre-copy options save and migrate share. */
export const TRANSFER_OPTIONS = {
  'no-precopy': flag('skip pre-copy and go straight to STOP_COPY'),
  'precopy-info-v2': flag('opt in to PRECOPY_INFOv2 (REINIT reports); not sent otherwise, as QEMU does'),
  'max-rounds': integer('pre-copy round limit (default 8)', { min: 1, max: 1000 }),
  'dirty-threshold': size('stop pre-copy once dirty data is at most this (default 1MiB)', { min: 0 }),
};

export function finalState(help: string) {
  return choice(SETTABLE_STATES, `${help}:\n${SETTABLE_STATES.join(', ')}`, { arg: 'S' });
}

/**
 * `--size` for a save into a file: the saved state must also fit on the disk that takes it. Throws a
 * UsageError naming the option and the free space; other outputs (pipes, sockets, devices) are not checked.
 */
export function checkFitsOnDisk(output: string, bytes: number): void {
  let spec;
  try {
    spec = endpointSyntax(output);
  } catch {
    return;
  }
  if (spec.kind !== 'path') return;
  let folder = dirname(resolve(spec.path));
  try {
    folder = dirname(realpathSync(spec.path));
  } catch {
    /* new file */
  }
  let free: number;
  try {
    const st = statfsSync(folder);
    free = st.bavail * st.bsize;
  } catch {
    return; // the save names the missing folder itself
  }
  if (bytes > free)
    throw new UsageError(
      `--size ${formatSize(bytes)}: the saved state would not fit in ${folder} (${formatSize(free)} free)`,
    );
}
