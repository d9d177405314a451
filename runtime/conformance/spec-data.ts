/**
 * The part of the spec the conformance suite judges by: rules, the state machine with its derived paths,
 * and the feature table. Plain data shaped like the generator's IR (`generated/ir.json`), so any IR — the
 * committed one, or one a caller built from another spec revision — can be passed in. The runtime never
 * imports the generator; the CLI does that and hands the result over.
 */
import { readFileSync } from 'node:fs';

export interface SpecRule {
  id: string;
  since: string;
  doc?: string;
  strength: 'must' | 'should' | 'estimate';
  tolerance?: { stated: boolean; bytes?: number; relative?: number; note: string };
  kind: 'state-validity' | 'stream' | 'errno' | 'capability' | 'behaviour';
  op?: string;
  on?: string;
  validIn?: string[] | 'any';
  otherwise?: string;
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

export interface SpecArc {
  from: string;
  to: string;
  when: string[];
  unless: string[];
  fd: 'none' | 'opens-saving' | 'opens-resuming' | 'keeps' | 'ends';
}

export interface SpecFsm {
  states: string[];
  capabilitySets: string[];
  requires: Record<string, string[] | null>;
  initial: string;
  error: string;
  arcs: SpecArc[];
  /** `kernelFix`: id of the kernel fix (in SpecData.kernelFixes) that changed what kernels do for it. */
  /** `when`/`unless`: the capability flags the ban depends on (absent in IRs older than them: every device). */
  forbidden: { from: string; to: string; errno: string; when?: string[]; unless?: string[]; kernelFix?: string }[];
  paths: Record<string, Record<string, Record<string, string[] | null>>>;
}

export interface SpecFeature {
  index: number;
  short: string;
  ops: ('GET' | 'SET')[];
  minsz: number;
  needs: 'migration' | 'dma_logging' | 'pre_copy' | 'driver_op';
  missing: string;
  since: string;
}

export interface SpecData {
  /** Where the data came from, for the report header (`generated/ir.json`, a spec module path...). */
  label: string;
  rules: Record<string, SpecRule>;
  fsm: SpecFsm;
  features: Record<string, SpecFeature>;
  states: Record<string, number>;
  /** Kernel fixes by release (absent in IRs older than the field). */
  kernelFixes?: SpecKernelFix[];
}

/** A kernel change to what a request gets, as `ir.kernelFixes` holds it. */
export interface SpecKernelFix {
  id: string;
  commit: string;
  subject: string;
  fixedIn: { mainline: string; stable: string[] };
  fixes?: { commit: string; subject: string; release: string };
  before: string;
  after: string;
  requests: string[];
}

/** Take what the suite needs from an IR object (the generator's or `generated/ir.json`). */
export function specDataFromIr(ir: unknown, label: string): SpecData {
  const x = ir as Omit<SpecData, 'label'>;
  if (!x || typeof x !== 'object' || !x.rules || !x.fsm || !x.features || !x.states)
    throw new Error(`${label} is not a vfio-uapi IR (it needs rules, fsm, features and states)`);
  return {
    label,
    rules: x.rules,
    fsm: x.fsm,
    features: x.features,
    states: x.states,
    ...(Array.isArray(x.kernelFixes) ? { kernelFixes: x.kernelFixes } : {}),
  };
}

/** The committed spec: `generated/spec-data.json`, the runtime's part of `generated/ir.json`. */
export function generatedSpecData(): SpecData {
  const url = new URL('../../generated/spec-data.json', import.meta.url);
  return specDataFromIr(JSON.parse(readFileSync(url, 'utf8')), 'generated/spec-data.json');
}

/** The capability set key (like `STOP_COPY+P2P`) of MIGRATION flags, in the state machine's flag order. */
export function capsKeyFor(fsm: SpecFsm, flags: number, flagBits: Record<string, number>): string | null {
  const names = Object.entries(flagBits)
    .filter(([, bit]) => (flags & bit) !== 0)
    .map(([n]) => n);
  const key = names.join('+');
  return fsm.capabilitySets.includes(key) ? key : null;
}

/** Is `from → to` forbidden for a device with this capability set? */
export function forbiddenFor(
  fsm: SpecFsm,
  caps: string,
  from: string,
  to: string,
): SpecFsm['forbidden'][number] | undefined {
  const have = caps.split('+');
  return fsm.forbidden.find(
    (f) =>
      f.from === from &&
      f.to === to &&
      (f.when ?? []).every((c) => have.includes(c)) &&
      !(f.unless ?? []).some((c) => have.includes(c)),
  );
}

/** Does a device with this capability set have this state? */
export function stateExists(fsm: SpecFsm, caps: string, state: string): boolean {
  const need = fsm.requires[state];
  const have = caps.split('+');
  return need != null && need.every((c) => have.includes(c));
}

/** The arc between two adjacent states of a path on a device with these capabilities. */
export function arcOf(fsm: SpecFsm, caps: string, from: string, to: string): SpecArc | undefined {
  const have = caps.split('+');
  return fsm.arcs.find(
    (a) =>
      a.from === from &&
      a.to === to &&
      a.when.every((c) => have.includes(c)) &&
      !a.unless.some((c) => have.includes(c)),
  );
}
