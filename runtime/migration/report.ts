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
  /** The state GET reported after the failure (null if GET failed too). */
  observed: string | null;
  action: 'none' | 'recovery-state' | 'reset';
  /** The state the device ended in. */
  finalState: string | null;
  ok: boolean;
}

export interface SessionReport {
  mode: 'stepwise' | 'direct';
  guard: 'strict' | 'audit';
  capsKey: string;
  steps: StepRecord[];
  audit: AuditRecord[];
  /** Calls the runtime refused before any syscall (strict mode). */
  refused: { op: string; state: string; rule: string; message: string }[];
  recoveries: RecoveryRecord[];
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
    dataFdsOpened: 0,
    dataFdsClosed: 0,
    reinits: 0,
  };
}
