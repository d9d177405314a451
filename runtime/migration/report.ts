/** What a migration session did, step by step: returned to the caller and printed by the CLI with --json. */

export interface StepRecord {
  /** `SET STOP_COPY`, `GET`, `RESET`, `PRECOPY_INFO`… */
  op: string;
  from: string;
  to?: string;
  ok: boolean;
  errno?: string;
  /** Data fd effect the spec expects for this arc, and what happened. */
  fd?: string;
  ms: number;
}

/** A place where the device did something the spec forbids (or the runtime issued a forbidden call in audit mode). */
export interface AuditRecord {
  rule: string;
  op: string;
  state: string;
  /** What the spec says should happen. */
  spec: string;
  /** What the kernel (or emulator) did. */
  kernel: string;
}

export interface RecoveryRecord {
  /** The failure that triggered recovery. */
  after: string;
  /** The session's role when it recovered (null: not known yet). */
  role: 'source' | 'destination' | null;
  /** The state GET reported after the failure (null if GET failed too). */
  observed: string | null;
  /** none: already where it should be; recovery-state: one SET back to `target`; reset: VFIO_DEVICE_RESET. */
  action: 'none' | 'recovery-state' | 'reset';
  /** Where recovery aimed: the state a source returns to, or RUNNING for a reset. */
  target: string;
  /** The state the device ended in. */
  finalState: string | null;
  /** The device had entered RESUMING: what it received was discarded by the reset, never loaded. */
  discarded: boolean;
  ok: boolean;
}

/** An optional query the device did not answer (the session went on without it). */
export interface UnavailableRecord {
  op: string;
  errno: string;
  /** What the session does without it. */
  effect: string;
  /** EINVAL or ENOTTY: how kernels say "not available"; anything else is unusual. */
  expected: boolean;
}

export interface SessionReport {
  mode: 'stepwise' | 'direct' | 'qemu';
  guard: 'strict' | 'audit';
  capsKey: string;
  steps: StepRecord[];
  audit: AuditRecord[];
  /** Calls the runtime refused before any syscall (strict mode). */
  refused: { op: string; state: string; rule: string; message: string }[];
  recoveries: RecoveryRecord[];
  /** Optional queries (MIG_DATA_SIZE, the PRECOPY_INFOv2 opt-in) the device did not answer. */
  unavailable: UnavailableRecord[];
  dataFdsOpened: number;
  dataFdsClosed: number;
  reinits: number;
}

export function emptyReport(
  mode: SessionReport['mode'],
  guard: SessionReport['guard'],
  capsKey: string,
): SessionReport {
  return {
    mode,
    guard,
    capsKey,
    steps: [],
    audit: [],
    refused: [],
    recoveries: [],
    unavailable: [],
    dataFdsOpened: 0,
    dataFdsClosed: 0,
    reinits: 0,
  };
}
