/**
 * The runtime's one error type. Every failure names what was attempted (`op`), on which kind of fd, in
 * which migration state, the errno (0 when the runtime refused before any syscall) and, when a uAPI rule
 * decided it, the rule id from the spec. `kind` groups failures for callers and CLI exit codes.
 */
import { describeOutcome, type DeviceOutcome, type DeviceRole } from './migration/outcome.js';
import { errnoMeaning, errnoName } from './sys/index.js';

export type FdKind = 'path' | 'container' | 'group' | 'device' | 'iommufd' | 'migration_data' | 'stream';

export type FailureKind =
  /** The path does not exist. */
  | 'not-found'
  /** The path exists but we may not open it. */
  | 'permission'
  /** The path opened, but it does not answer VFIO ioctls. */
  | 'not-vfio'
  /** A VFIO device that cannot migrate, or whose flags the uAPI does not define. */
  | 'no-migration'
  /** The runtime refused a call the spec forbids in the current state (no syscall was made). */
  | 'refused'
  /** The kernel (or emulator) failed a call. */
  | 'kernel'
  /** A saved stream is truncated, foreign, or fails its checksum. */
  | 'bad-stream'
  /** Reading or writing the file, pipe or socket on the other side failed. */
  | 'io'
  /** Source and destination differ after a migration. */
  | 'verification'
  /** The caller stopped it (an AbortSignal; in the CLI, SIGINT or SIGTERM). */
  | 'cancelled'
  /** The caller asked for something malformed (unknown personality, bad option value). */
  | 'usage';

export interface VfioErrorDetails {
  kind: FailureKind;
  op: string;
  fdKind: FdKind;
  state?: string | null;
  errno?: number;
  rule?: string;
  /** Optional sentence telling the person what to try next. */
  hint?: string;
  cause?: unknown;
  /** Which side of a migration failed, and its device name (prefixes the message). */
  side?: { role: DeviceRole; device: string };
  /** Where every device involved ended (appended to the message). */
  outcome?: DeviceOutcome[];
}

export class VfioError extends Error {
  readonly kind: FailureKind;
  readonly op: string;
  readonly fdKind: FdKind;
  readonly state: string | null;
  /** 0 when the runtime refused before issuing a syscall. */
  readonly errno: number;
  readonly errnoName: string | null;
  readonly rule: string | undefined;
  readonly hint: string | undefined;
  /** The side of a migration that failed (source or destination) and its device, once known. */
  side: { role: DeviceRole; device: string } | null;
  /** Where every device involved ended and what was done to it (PROTOCOL.md), once known. */
  outcome: DeviceOutcome[] | null;
  /** The message without side and outcome. */
  readonly detail: string;

  constructor(message: string, d: VfioErrorDetails) {
    super(message, d.cause === undefined ? undefined : { cause: d.cause });
    this.name = 'VfioError';
    this.kind = d.kind;
    this.op = d.op;
    this.fdKind = d.fdKind;
    this.state = d.state ?? null;
    this.errno = d.errno ?? 0;
    this.errnoName = this.errno ? errnoName(this.errno) : null;
    this.rule = d.rule;
    this.hint = d.hint;
    this.detail = d.hint ? `${message} — ${d.hint}` : message;
    this.side = d.side ?? null;
    this.outcome = d.outcome ?? null;
    this.message = this.compose();
  }

  /** Name the side that failed; the message starts with it (`source emulated:mlx5: …`). Keeps an earlier one. */
  placeOn(role: DeviceRole, device: string): this {
    if (!this.side) this.side = { role, device };
    this.message = this.compose();
    return this;
  }

  /** Record where every device ended (the whole list, replacing any earlier one); the message ends with it. */
  withOutcome(entries: readonly DeviceOutcome[]): this {
    this.outcome = [...entries];
    this.message = this.compose();
    return this;
  }

  private compose(): string {
    const side = this.side ? `${this.side.role} ${this.side.device}: ` : '';
    const outcome = this.outcome?.length ? ` — ${describeOutcome(this.outcome)}` : '';
    return `${side}${this.detail}${outcome}`;
  }

  /** A failed syscall: "VFIO_DEVICE_FEATURE SET MIG_DEVICE_STATE=STOP failed in RUNNING: EIO (input/output error)". */
  static fromErrno(op: string, fdKind: FdKind, errno: number, extra: Partial<VfioErrorDetails> = {}): VfioError {
    const where = extra.state ? ` in ${extra.state}` : '';
    const rule = extra.rule ? ` [rule ${extra.rule}]` : '';
    return new VfioError(`${op} failed${where}: ${errnoName(errno)} (${errnoMeaning(errno)})${rule}`, {
      kind: 'kernel',
      op,
      fdKind,
      errno,
      ...extra,
    });
  }

  /** The JSON shape the CLI prints with --json. */
  toJSON(): Record<string, unknown> {
    return {
      error: this.message,
      kind: this.kind,
      op: this.op,
      fdKind: this.fdKind,
      state: this.state,
      errno: this.errno,
      errnoName: this.errnoName,
      rule: this.rule ?? null,
      side: this.side?.role ?? null,
      outcome: this.outcome ?? [],
    };
  }
}

export function isVfioError(e: unknown, kind?: FailureKind): e is VfioError {
  return e instanceof VfioError && (kind === undefined || e.kind === kind);
}
