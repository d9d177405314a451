/**
 * The IR: a plain, JSON-serialisable model of the spec with every C layout and number computed.
 * Other languages and tools read `generated/ir.json`; every generator emitter reads this.
 */

export interface IrSite {
  /** Path relative to the repository root. */
  file: string;
  line: number;
}

export interface IrItem {
  since: string;
  doc: string;
  site: IrSite;
}

export interface IrMember {
  value: number;
  since: string;
  doc: string;
}

export interface IrEnum extends IrItem {
  prefix: string;
  members: Record<string, IrMember>;
}

export interface IrFlags extends IrEnum {
  masks: Record<string, IrMember>;
}

export type IrRole =
  | { kind: 'plain' }
  | { kind: 'argsz' }
  | { kind: 'flags'; flags: string }
  | { kind: 'enum'; enum: string }
  | { kind: 'reserved' }
  | { kind: 'pointer'; required: boolean }
  | { kind: 'fd' };

/** A field's type, resolved. */
export type IrType =
  | { kind: 'scalar'; scalar: string; size: number; signed: boolean; forceAlign8: boolean }
  | { kind: 'array'; element: IrType; length: number }
  | { kind: 'flex'; element: IrType; countedBy?: string }
  | { kind: 'struct'; struct: string }
  | { kind: 'union'; union: string; anonymous: boolean; members: IrField[] };

export interface IrField {
  name: string;
  offset: number;
  size: number;
  align: number;
  /** C spelling, e.g. `__u32`, `__aligned_u64`, `struct vfio_region_dma_range[]`. */
  type: string;
  ir: IrType;
  role: IrRole;
  direction: 'in' | 'out' | 'inout';
  /** Set when the field arrived after its struct. */
  since?: string;
  /** Earlier forms, newest first: before `until` the field was named `name` and/or typed `type` (C spelling). */
  history?: { until: string; name?: string; type?: string }[];
  doc: string;
}

export interface IrLayout {
  size: number;
  align: number;
  offsets: Record<string, number>;
}

/** Where one field sat in one release, on both ABIs. */
export interface IrPlacedField {
  /** The field's C name in that release (a member of an anonymous union by its own name). */
  name: string;
  /** The field's current name (`IrStruct.fields[].name`), for members of named unions `field.member`. */
  field: string;
  /** C spelling of its type in that release. */
  type: string;
  flex: boolean;
  lp64: { offset: number; size: number; align: number };
  i386: { offset: number; size: number; align: number };
}

/** The struct as the headers had it from `since` until the next version's `since`. */
export interface IrStructVersion {
  since: string;
  fields: IrPlacedField[];
  lp64: { size: number; align: number };
  i386: { size: number; align: number };
}

export interface IrStruct extends IrItem {
  size: number;
  align: number;
  /** Smallest argsz the kernel accepts (bytes); equals size when the spec states none. */
  minsz: number;
  fields: IrField[];
  /** Layout on i386, where a plain u64 is only 4-aligned. */
  i386: IrLayout;
  /**
   * Every C form the struct had, oldest first: fields added later, renamed or retyped in place. The last
   * entry is the current layout. Headers older than an entry's `since` have an earlier entry's layout.
   */
  versions: IrStructVersion[];
}

export interface IrArg {
  kind: 'none' | 'struct' | 'value' | 'int_ptr' | 'string' | 'opaque';
  struct?: string;
  scalar?: string;
  cType?: string;
}

export interface IrIoctl extends IrItem {
  number: number;
  numberByArch: { generic: number; powerpc: number };
  type: number;
  nr: number;
  fd: string;
  arg: IrArg;
  minsz?: number;
  returnsFd?: string;
}

export interface IrFdKind extends IrItem {
  obtainedBy: string;
  extends?: string;
}

export interface IrFeature extends IrItem {
  index: number;
  short: string;
  ops: ('GET' | 'SET')[];
  payload: string | null;
  minsz: number;
  handler: 'core' | 'driver';
  needs: 'migration' | 'dma_logging' | 'pre_copy' | 'driver_op';
  missing: string;
  returnsFd?: string;
}

export interface IrArc {
  from: string;
  to: string;
  when: string[];
  unless: string[];
  fd: 'none' | 'opens-saving' | 'opens-resuming' | 'keeps' | 'ends';
  since?: string;
  doc: string;
  site: IrSite;
}

export interface IrForbidden {
  from: string;
  to: string;
  errno: string;
  /** The request is forbidden only on devices with all of these flags (empty: every device)… */
  when: string[];
  /** …and none of these (a flag that lifts the ban). */
  unless: string[];
  /** Id of the kernel fix (in `kernelFixes`) that changed what real kernels do for this request. */
  kernelFix?: string;
  doc: string;
  site: IrSite;
}

/**
 * A kernel change to what a request gets, by release. A release has the fix when it is at least
 * `fixedIn.mainline`, or in a listed stable series at or after the listed version (`6.12.96`).
 * Releases before `fixes.release` never had the affected behaviour.
 */
export interface IrKernelFix {
  id: string;
  commit: string;
  subject: string;
  date: string;
  merged?: string;
  fixedIn: { mainline: string; stable: string[] };
  fixes?: { commit: string; subject: string; release: string };
  /** What an affected request gets before and after the fix: `hang`, `ok`, or an errno name. */
  before: string;
  after: string;
  about: string;
  stepAlgorithm?: 'skip-loop-stops-at-error';
  /** Derived: the forbidden requests (`FROM->TO`) that name this fix. */
  requests: string[];
  sources: string[];
  site: IrSite;
}

export interface IrFsm extends IrItem {
  name: string;
  stateEnum: string;
  capabilityFlags: string;
  /** State names in value order (ERROR first). */
  states: string[];
  mandatory: string[];
  /** Capability sets the uAPI defines, written like `STOP_COPY+P2P`. */
  capabilitySets: string[];
  requires: Record<string, string[] | null>;
  initial: string;
  error: string;
  endpointOnly: string[];
  arcs: IrArc[];
  forbidden: IrForbidden[];
  /** Derived: `paths[caps][from][to]` = the states passed through, ending at `to`; [] when from = to; null = refused. */
  paths: Record<string, Record<string, Record<string, string[] | null>>>;
  /** Derived: the first step of each path (the kernel's table format); null = refused. */
  next: Record<string, Record<string, Record<string, string | null>>>;
}

export interface IrRule extends IrItem {
  id: string;
  /** must (fails), should (warns), estimate (measured and reported; warns only outside a stated tolerance). */
  strength: 'must' | 'should' | 'estimate';
  tolerance?: { stated: boolean; bytes?: number; relative?: number; note: string };
  kind: 'state-validity' | 'stream' | 'errno' | 'capability' | 'behaviour';
  op?: string;
  on?: string;
  validIn?: string[] | 'any';
  otherwise?: string;
  /** `should` when the text only recommends the errno outside the valid states (a call that succeeds there still fails). */
  otherwiseStrength?: 'should';
  io?: 'read' | 'write';
  perState?: Record<string, { allowed: boolean; end?: 'ENOMSG' | 'EOF'; never?: string[]; otherwise?: string }>;
  condition?: string;
  errno?: string;
  order?: number;
  ifCaps?: string[];
  requiresOp?: string;
  requiresCaps?: string[];
}

/** A name the spec knows from an earlier release, for a value that has another name now. */
export interface IrFormerName {
  /** The value's name now (a key of `Ir.constants`). */
  current: string;
  value: number;
  /** First release with this name. */
  from: string;
  /** First release without it. */
  until: string;
}

export interface Ir {
  meta: { generator: string; irVersion: number; specFiles: string[] };
  constants: Record<string, number>;
  /**
   * Where each constant comes from (item, since, doc). `since` is when the value arrived; `nameSince`, when
   * it was renamed since, is the first release with its current name.
   */
  constantInfo: Record<string, { from: string; since: string; nameSince?: string; doc: string }>;
  /**
   * Earlier names of values (e.g. the 5.8–5.17 `VFIO_DEVICE_STATE_STOP` = 0 of the v1 migration protocol,
   * called `VFIO_DEVICE_STATE_V1_STOP` from 5.18). One name can have had several meanings over time, and
   * can mean something else today (`VFIO_DEVICE_STATE_STOP` = 1 from 5.18).
   */
  formerNames: Record<string, IrFormerName[]>;
  /** Header items the spec leaves out on purpose: C name → the reason. */
  outOfScope: Record<string, string>;
  enums: Record<string, IrEnum>;
  flags: Record<string, IrFlags>;
  states: Record<string, number>;
  fdKinds: Record<string, IrFdKind>;
  structs: Record<string, IrStruct>;
  ioctls: Record<string, IrIoctl>;
  features: Record<string, IrFeature>;
  fsm: IrFsm;
  rules: Record<string, IrRule>;
  /** Kernel fixes that changed behaviour the spec describes, oldest first. */
  kernelFixes: IrKernelFix[];
}
