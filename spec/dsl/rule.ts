import { base, deepFreeze, type ItemBase, type ItemOptions } from './common.js';
import type { FdKind } from './ioctl.js';

/**
 * An operation a rule talks about: an ioctl name, a feature access
 * (`VFIO_DEVICE_FEATURE_MIG_DATA_SIZE:GET`), or plain I/O on an fd (`read`, `write`, `pread`, `pwrite`, `lseek`).
 */
export type OpName = string;

/**
 * How binding a rule is, as the uAPI text words it: `must` (a requirement: breaking it fails), `should`
 * (a recommendation: breaking it warns), or `estimate` (the text calls the numbers estimates: conformance
 * measures how close they are and fails nothing; with a stated `tolerance` it warns outside it).
 */
export type Strength = 'must' | 'should' | 'estimate';

/** How far an estimate may be off, when the text states a bound; `stated: false` = the text gives none. */
export interface Tolerance {
  readonly stated: boolean;
  /** Allowed difference in bytes, and/or as a fraction of the measured value. */
  readonly bytes?: number;
  readonly relative?: number;
  /** Where the bound (or its absence) comes from. */
  readonly note: string;
}

/** Per-state stream behaviour of read() or write() on the data fd. */
export interface StreamState {
  /** The call is meaningful in this state (otherwise `otherwise`). */
  readonly allowed: boolean;
  /** What the call gives when no data is left: ENOMSG (temporary end) or EOF (read()==0, permanent). */
  readonly end?: 'ENOMSG' | 'EOF';
  /** Errnos the call must never give in this state. */
  readonly never?: readonly string[];
  readonly otherwise?: string;
}

export type RuleBody =
  /** The op is valid only in these states of the fd's device; elsewhere it fails with `otherwise`. */
  | {
      kind: 'state-validity';
      op: OpName;
      on: string;
      validIn: readonly string[] | 'any';
      otherwise: string;
      /**
       * How binding `otherwise` is, when the text is weaker about the errno than about the states (vfio.h:
       * "valid only in PRE_COPY states and kernel driver should return -EINVAL"). Default: the rule's strength.
       */
      otherwiseStrength?: 'should';
    }
  /** read()/write() behaviour on the data fd per migration state. */
  | { kind: 'stream'; io: 'read' | 'write'; on: string; perState: Readonly<Record<string, StreamState>> }
  /** The op fails with `errno` when `condition` holds; `order` ranks checks the kernel makes in sequence. */
  | { kind: 'errno'; op: OpName; on: string; condition: string; errno: string; order?: number }
  /** A device with these capability flags must also support `requiresOp` (or the flags `requiresCaps`). */
  | { kind: 'capability'; ifCaps: readonly string[]; requiresOp?: OpName; requiresCaps?: readonly string[] }
  /** Behaviour stated in prose that conformance checks by the rule's id. */
  | { kind: 'behaviour' };

export type Rule = ItemBase & {
  readonly kind: 'rule';
  readonly strength: Strength;
  /** Only for `estimate` rules. */
  readonly tolerance?: Tolerance;
  readonly body: RuleBody;
};

type RuleInput =
  | {
      kind: 'state-validity';
      op: OpName;
      on: FdKind;
      validIn: string[] | 'any';
      otherwise: string;
      otherwiseStrength?: 'should';
    }
  | { kind: 'stream'; io: 'read' | 'write'; on: FdKind; perState: Record<string, StreamState> }
  | { kind: 'errno'; op: OpName; on: FdKind; condition: string; errno: string; order?: number }
  | { kind: 'capability'; ifCaps: string[]; requiresOp?: OpName; requiresCaps?: string[] }
  | { kind: 'behaviour' };

export function rule(id: string, opts: ItemOptions & { strength?: Strength; tolerance?: Tolerance } & RuleInput): Rule {
  const { since, doc, strength, tolerance, ...rest } = opts;
  if (tolerance && strength !== 'estimate') throw new Error(`rule ${id}: a tolerance needs strength 'estimate'`);
  if (strength === 'estimate' && !tolerance)
    throw new Error(`rule ${id}: an estimate needs a tolerance ({ stated: false, note } when the text gives none)`);
  const body = ('on' in rest ? { ...rest, on: rest.on.name } : rest) as RuleBody;
  return deepFreeze({
    kind: 'rule',
    ...base(id, { since, ...(doc ? { doc } : {}) }),
    strength: strength ?? 'must',
    ...(tolerance ? { tolerance } : {}),
    body,
  });
}
