import { base, deepFreeze, type ItemBase, type ItemOptions, type Since } from './common.js';
import { callSite, type Site } from './site.js';
import type { Enumeration, FlagSet } from './enums.js';
import type { FdKind } from './ioctl.js';
import type { KernelFix } from './kernel.js';

/** What an arc does to the migration data fd. */
export type FdEffect = 'none' | 'opens-saving' | 'opens-resuming' | 'keeps' | 'ends';

export interface Arc {
  readonly from: string;
  readonly to: string;
  /** Capability flags the device must have for this arc to exist. */
  readonly when: readonly string[];
  /** Capability flags whose presence removes this arc. */
  readonly unless: readonly string[];
  readonly fd: FdEffect;
  readonly since?: Since;
  readonly doc?: string;
  readonly site: Site;
}

export function arc(
  from: string,
  to: string,
  opts: { when?: string[]; unless?: string[]; fd?: FdEffect; since?: Since; doc?: string } = {},
): Arc {
  return deepFreeze({
    from,
    to,
    when: opts.when ?? [],
    unless: opts.unless ?? [],
    fd: opts.fd ?? 'none',
    ...(opts.since ? { since: opts.since } : {}),
    ...(opts.doc ? { doc: opts.doc } : {}),
    site: callSite(),
  });
}

/** A request the uAPI refuses even though arcs would connect the two states. */
export interface Forbidden {
  readonly from: string;
  readonly to: string;
  readonly errno: string;
  /** Capability flags the device must have for the request to be forbidden (empty: every device). */
  readonly when: readonly string[];
  /**
   * Capability flags whose presence lifts the ban, e.g. a future flag that makes STOP_COPY → PRE_COPY an
   * arc on the devices that advertise it while every other device still refuses it.
   */
  readonly unless: readonly string[];
  /**
   * The kernel fix that changed what real kernels do for this request (id of a `kernelFix`), when
   * releases before it do not give `errno` (STOP_COPY → PRE_COPY hung before a26b499b757c).
   */
  readonly kernelFix?: string;
  readonly doc?: string;
  readonly site: Site;
}

export function forbid(
  from: string,
  to: string,
  opts: { errno?: string; when?: string[]; unless?: string[]; kernelFix?: KernelFix; doc?: string } = {},
): Forbidden {
  return deepFreeze({
    from,
    to,
    errno: opts.errno ?? 'EINVAL',
    when: opts.when ?? [],
    unless: opts.unless ?? [],
    ...(opts.kernelFix ? { kernelFix: opts.kernelFix.name } : {}),
    ...(opts.doc ? { doc: opts.doc } : {}),
    site: callSite(),
  });
}

export interface StateMachine extends ItemBase {
  readonly kind: 'fsm';
  readonly states: string;
  readonly capabilities: string;
  /** Capability flags every migratable device has. */
  readonly mandatory: readonly string[];
  /** Flag combinations the uAPI defines; any other is "to be defined". */
  readonly capabilitySets: readonly (readonly string[])[];
  /** Flags a state needs to exist on a device; `null` = never requestable. */
  readonly requires: Readonly<Record<string, readonly string[] | null>>;
  readonly initial: string;
  readonly error: string;
  readonly arcs: readonly Arc[];
  /** States that may end a request but never be passed through. */
  readonly endpointOnly: readonly string[];
  readonly forbidden: readonly Forbidden[];
  readonly dataFd: string;
  /** Where each requires entry was declared (for error messages). */
  readonly requiresSite: Site;
}

export function stateMachine(
  name: string,
  opts: ItemOptions & {
    states: Enumeration;
    capabilities: FlagSet;
    mandatory: string[];
    capabilitySets: string[][];
    requires: Record<string, string[] | null>;
    initial: string;
    error: string;
    arcs: Arc[];
    endpointOnly: string[];
    forbidden: Forbidden[];
    dataFd: FdKind;
  },
): StateMachine {
  return deepFreeze({
    kind: 'fsm',
    ...base(name, opts),
    states: opts.states.name,
    capabilities: opts.capabilities.name,
    mandatory: opts.mandatory,
    capabilitySets: opts.capabilitySets,
    requires: opts.requires,
    initial: opts.initial,
    error: opts.error,
    arcs: opts.arcs,
    endpointOnly: opts.endpointOnly,
    forbidden: opts.forbidden,
    dataFd: opts.dataFd.name,
    requiresSite: callSite(),
  });
}
