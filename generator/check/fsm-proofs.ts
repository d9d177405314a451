import { arcExists, capsOf, forbiddenApplies, isForbidden, opensFd, stateSupported } from '../fsm/derive.js';
import {
  checkKernelTable,
  deriveKernelTable,
  fsmFacts,
  pathShapeProblems,
  sessionStates,
  STEP_ALGORITHMS,
  type FsmFacts,
} from '../fsm/kernel-table.js';
import type { IrArc, IrFsm } from '../ir/types.js';
import type { ProofFailure } from './prove.js';

/**
 * Proofs over the derived state machine, for every capability set the uAPI defines. Each checks the
 * derived tables in the IR (`fsm.paths`, `fsm.next`) against the arcs, independently of how they were
 * derived, and names the property that fails with the capability set, request and offending path.
 */

/** The capability set a device's migration flags select, or an error for combinations the uAPI leaves undefined. */
export function capsKeyFromFlags(
  fsm: Pick<IrFsm, 'capabilitySets'>,
  flagBits: Record<string, number>,
  flags: number,
): { caps: string } | { error: string } {
  const order = Object.entries(flagBits).sort((a, b) => a[1] - b[1]);
  const known = order.reduce((m, [, v]) => m | v, 0);
  if ((flags & ~known) !== 0) return { error: `unknown migration flag bits 0x${(flags & ~known).toString(16)}` };
  const key = order
    .filter(([, v]) => (flags & v) !== 0)
    .map(([k]) => k)
    .join('+');
  if (!fsm.capabilitySets.includes(key))
    return {
      error: `migration flags ${key || '(none)'} are not a combination the uAPI defines (${fsm.capabilitySets.join(', ')})`,
    };
  return { caps: key };
}

const show = (p: readonly string[] | null | undefined) => (p == null ? 'refused' : p.length ? p.join(' → ') : '(stay)');

type Ir = Parameters<typeof fsmFacts>[0];

/** All state-machine proofs. */
export function proveFsm(ir: Ir): ProofFailure[] {
  const fsm = ir.fsm;
  const facts = fsmFacts(ir);
  const out: ProofFailure[] = [];
  const fail = (property: string, caps: string, request: string, path: readonly string[] | null, message: string) =>
    out.push({ property, caps, request, path: show(path), message });

  // Capability sets: each flag combination either is one of the defined sets or is rejected.
  const bits = Object.values(facts.flagBits);
  const all = bits.reduce((m, v) => m | v, 0);
  for (let flags = 0; flags <= all; flags++) {
    if ((flags & ~all) !== 0) continue;
    const r = capsKeyFromFlags(fsm, facts.flagBits, flags);
    const key = Object.entries(facts.flagBits)
      .filter(([, v]) => flags & v)
      .map(([k]) => k);
    const defined = fsm.capabilitySets.some((cs) => {
      const c = capsOf(cs);
      return c.length === key.length && c.every((x) => key.includes(x));
    });
    if ('caps' in r !== defined)
      fail(
        'capability-sets',
        key.join('+') || '(none)',
        '-',
        null,
        `flags 0x${flags.toString(16)} ${defined ? 'rejected' : 'accepted'}`,
      );
  }
  for (const cs of fsm.capabilitySets)
    for (const m of fsm.mandatory)
      if (!capsOf(cs).includes(m)) fail('capability-sets', cs, '-', null, `capability set lacks mandatory ${m}`);

  for (const key of fsm.capabilitySets) {
    const caps = capsOf(key);
    const existing = fsm.arcs.filter((a) => arcExists(fsm, caps, a));
    const supported = fsm.states.filter((s) => stateSupported(fsm, caps, s));
    const used = new Set<IrArc>();
    const session = sessionStates(fsm, caps);

    // fd-session: an arc's data-fd effect agrees with whether a session is open at each end.
    for (const a of existing) {
      const [f, t] = [session.has(a.from), session.has(a.to)];
      const ok = a.fd === 'none' ? !f && !t : opensFd(a) ? !f && t : a.fd === 'keeps' ? f && t : /* ends */ f && !t;
      if (!ok)
        fail(
          'fd-session',
          key,
          `${a.from}->${a.to}`,
          [a.to],
          `arc ${a.from} → ${a.to} (fd ${a.fd}) leaves a data session ${f ? 'open in' : 'absent from'} ${a.from} and ${t ? 'open in' : 'absent from'} ${a.to} (${a.site.file}:${a.site.line})`,
        );
    }

    // forbidden: no arc implements a forbidden request directly (on the devices it is forbidden for).
    for (const fb of fsm.forbidden.filter((f) => forbiddenApplies(f, caps)))
      if (existing.some((a) => a.from === fb.from && a.to === fb.to))
        fail('forbidden', key, `${fb.from}->${fb.to}`, [fb.to], `an arc implements the forbidden request`);

    for (const from of fsm.states) {
      for (const to of fsm.states) {
        const request = `${from}->${to}`;
        const path = fsm.paths[key]?.[from]?.[to];
        if (path === undefined) {
          fail('terminates', key, request, null, 'no derived answer for this request');
          continue;
        }
        const forbidden = isForbidden(fsm, caps, from, to);
        const bothSupported = stateSupported(fsm, caps, from) && stateSupported(fsm, caps, to);

        // forbidden requests and requests touching unsupported states have no path.
        if (path !== null && forbidden) fail('forbidden', key, request, path, 'a forbidden request has a path');
        if (path !== null && !bothSupported)
          fail('arc-exists', key, request, path, 'a request involving a state this device lacks has a path');

        // terminates: the step table, applied repeatedly as drivers do, reaches the target along the path.
        const stepped: string[] = [];
        let cur = from;
        let loop = false;
        while (cur !== to) {
          const n = fsm.next[key]?.[cur]?.[to];
          if (n === null || n === undefined) break;
          if (n === cur || stepped.includes(n) || n === from || stepped.length > fsm.states.length) {
            stepped.push(n);
            loop = true;
            break;
          }
          stepped.push(n);
          cur = n;
        }
        if (loop)
          fail('terminates', key, request, stepped, `stepping with next[] cycles: ${from} → ${stepped.join(' → ')}`);
        else if (path !== null && JSON.stringify(stepped) !== JSON.stringify(path))
          fail(
            'step-table',
            key,
            request,
            stepped,
            `stepping with next[] does not follow the derived path ${show(path)} (gives ${show(stepped)})`,
          );
        else if (path === null && stepped.length > 0)
          fail('step-table', key, request, stepped, 'the request is refused but next[] moves the device');

        if (path === null || path.length === 0) {
          // shortest: a refused, non-forbidden request between supported states must really be unreachable.
          if (path === null && bothSupported && !forbidden && from !== to) {
            const alt = shortestLegal(fsm, caps, from, to);
            if (alt) fail('shortest', key, request, alt, `refused, but a legal path exists: ${show(alt)}`);
          }
          continue;
        }

        // arc-exists, interior-fd, endpoint-only.
        for (const p of pathShapeProblems(fsm, caps, from, path)) {
          const property =
            p.problem === 'not-an-arc' ? 'arc-exists' : p.problem === 'interior-fd' ? 'interior-fd' : 'endpoint-only';
          fail(property, key, request, path, p.message);
        }
        path.forEach((t, i) => {
          const f = i === 0 ? from : path[i - 1]!;
          const a = existing.find((x) => x.from === f && x.to === t);
          if (a) used.add(a);
        });

        // shortest: exhaustive search over legal arc sequences (independent of the BFS that derived it).
        const best = shortestLegal(fsm, caps, from, to);
        if (!best || best.length < path.length)
          fail(
            'shortest',
            key,
            request,
            path,
            best ? `a shorter legal path exists: ${show(best)}` : 'no legal path of arcs exists for this request',
          );
      }
    }

    // reachable: every supported state from the initial one and back.
    for (const s of supported) {
      if (s === fsm.initial) continue;
      if (!fsm.paths[key]?.[fsm.initial]?.[s])
        fail('reachable', key, `${fsm.initial}->${s}`, null, `${s} cannot be reached from ${fsm.initial}`);
      if (!fsm.paths[key]?.[s]?.[fsm.initial])
        fail('reachable', key, `${s}->${fsm.initial}`, null, `${s} cannot return to ${fsm.initial}`);
    }

    // required-arcs: the arcs drivers must implement (those that exist) are exactly the arcs paths use.
    for (const a of existing)
      if (!used.has(a))
        fail(
          'required-arcs',
          key,
          `${a.from}->${a.to}`,
          [a.to],
          `arc ${a.from} → ${a.to} exists for this device but no request uses it (${a.site.file}:${a.site.line})`,
        );
  }

  // kernel-table: one kernel-format table reproduces every path with the kernel's algorithm, in every
  // version of it (before and after a26b499b757c).
  const derived = deriveKernelTable(facts);
  for (const x of derived.inexpressible) fail('kernel-table', x.caps, x.request, null, x.reason);
  if (!derived.inexpressible.length)
    for (const algorithm of STEP_ALGORITHMS)
      for (const f of checkKernelTable(facts, derived.table, algorithm))
        fail(
          'kernel-table',
          f.caps,
          f.request,
          f.path,
          `generated kernel table, ${algorithm} step algorithm: ${f.problem}: ${f.message}`,
        );
  return out;
}

/**
 * The shortest legal sequence of arcs by exhaustive depth-first enumeration (no state twice): only
 * the last arc may open a data fd, only the first may end one, endpoint-only states only at the end.
 * Ties go to the first found in arc declaration order.
 */
export function shortestLegal(
  fsm: Pick<IrFsm, 'arcs' | 'requires' | 'states' | 'endpointOnly' | 'forbidden' | 'error'>,
  caps: readonly string[],
  from: string,
  to: string,
): string[] | null {
  const arcs = fsm.arcs.filter((a) => arcExists(fsm, caps, a));
  let best: string[] | null = null;
  const walk = (cur: string, path: string[]) => {
    if (best && path.length >= best.length) return;
    for (const a of arcs) {
      if (a.from !== cur || a.to === from || path.includes(a.to)) continue;
      if (a.fd === 'ends' && path.length > 0) continue;
      const last = a.to === to;
      if (!last && (opensFd(a) || fsm.endpointOnly.includes(a.to))) continue;
      const p = [...path, a.to];
      if (last) {
        if (!best || p.length < best.length) best = p;
      } else walk(a.to, p);
    }
  };
  walk(from, []);
  return best;
}

export type { FsmFacts };
