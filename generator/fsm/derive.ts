import type { IrArc, IrFsm } from '../ir/types.js';

/** A capability set written like `STOP_COPY+P2P`, in the flag set's declared order. */
export type CapsKey = string;

export const capsKey = (caps: readonly string[], order: readonly string[]): CapsKey =>
  order.filter((c) => caps.includes(c)).join('+');

export const capsOf = (key: CapsKey): string[] => (key ? key.split('+') : []);

type FsmShape = Pick<IrFsm, 'states' | 'requires' | 'arcs' | 'endpointOnly' | 'forbidden' | 'error'>;

/** Does a device with these capabilities have this state? */
export function stateSupported(fsm: FsmShape, caps: readonly string[], state: string): boolean {
  const req = fsm.requires[state];
  return req !== null && req !== undefined && req.every((c) => caps.includes(c));
}

/** Does this arc exist on a device with these capabilities? */
export function arcExists(fsm: FsmShape, caps: readonly string[], a: IrArc): boolean {
  return (
    stateSupported(fsm, caps, a.from) &&
    stateSupported(fsm, caps, a.to) &&
    a.when.every((c) => caps.includes(c)) &&
    !a.unless.some((c) => caps.includes(c))
  );
}

export const opensFd = (a: IrArc) => a.fd === 'opens-saving' || a.fd === 'opens-resuming';

/** Does a forbidden request apply to a device with these capabilities (its `when` held, no `unless` flag)? */
export function forbiddenApplies(
  f: { when?: readonly string[]; unless?: readonly string[] },
  caps: readonly string[],
): boolean {
  return (f.when ?? []).every((c) => caps.includes(c)) && !(f.unless ?? []).some((c) => caps.includes(c));
}

/** Is `from → to` forbidden on a device with these capabilities? */
export function isForbidden(fsm: Pick<IrFsm, 'forbidden'>, caps: readonly string[], from: string, to: string): boolean {
  return fsm.forbidden.some((f) => f.from === from && f.to === to && forbiddenApplies(f, caps));
}

/**
 * The shortest legal path for one request: breadth-first over the arcs that exist for `caps`, where
 * an arc that opens a data fd may only be the last one, an arc that ends a data fd only the first one
 * (leaving the session the device was in), and an endpoint-only state may only be the target.
 * Ties go to the arc declared first, so the result is deterministic.
 */
export function derivePath(fsm: FsmShape, caps: readonly string[], from: string, to: string): string[] | null {
  if (!stateSupported(fsm, caps, from) || !stateSupported(fsm, caps, to)) return null;
  if (isForbidden(fsm, caps, from, to)) return null;
  if (from === to) return [];
  const arcs = fsm.arcs.filter((a) => arcExists(fsm, caps, a));
  const prev = new Map<string, string>([[from, '']]);
  let frontier = [from];
  while (frontier.length) {
    const nextFrontier: string[] = [];
    for (const s of frontier) {
      for (const a of arcs) {
        if (a.from !== s || prev.has(a.to)) continue;
        const terminalOnly = opensFd(a) || fsm.endpointOnly.includes(a.to);
        if (terminalOnly && a.to !== to) continue;
        if (a.fd === 'ends' && s !== from) continue;
        prev.set(a.to, s);
        if (a.to === to) {
          const path = [to];
          for (let p = s; p !== from; p = prev.get(p)!) path.unshift(p);
          return path;
        }
        nextFrontier.push(a.to);
      }
    }
    frontier = nextFrontier;
  }
  return null;
}

/** Every path and the kernel-format next-step table for every capability set the uAPI defines. */
export function deriveTables(fsm: FsmShape & { capabilitySets: string[] }): Pick<IrFsm, 'paths' | 'next'> {
  const paths: IrFsm['paths'] = {};
  const next: IrFsm['next'] = {};
  for (const key of fsm.capabilitySets) {
    const caps = capsOf(key);
    paths[key] = {};
    next[key] = {};
    for (const from of fsm.states) {
      paths[key][from] = {};
      next[key][from] = {};
      for (const to of fsm.states) {
        const p = derivePath(fsm, caps, from, to);
        paths[key][from][to] = p;
        next[key][from][to] = p === null ? null : p.length === 0 ? from : p[0]!;
      }
    }
  }
  return { paths, next };
}
