/** The state machine: states, capabilities, arcs and their fd effects, forbidden requests, derived paths. */
import { arcExists, capsOf } from '../fsm/derive.js';
import type { Ir, IrFsm } from '../ir/types.js';
import { breaks, ok, review } from './changes.js';
import { add, common, eq, type Ctx } from './context.js';

export function diffFsm(ctx: Ctx) {
  const x = ctx.a.fsm;
  const y = ctx.b.fsm;
  const sites = { old: x.site, new: y.site };
  const ex = ctx.a.enums[x.stateEnum];
  const ey = ctx.b.enums[y.stateEnum];
  const stateSite = (ir: Ir, s: string) => ir.enums[ir.fsm.stateEnum]?.site ?? ir.fsm.site;
  void ex;
  void ey;
  const opensNew = (caps: string[] | null) => !!caps && caps.some((c) => ctx.newCaps.has(c));

  for (const s of x.states)
    if (!y.states.includes(s))
      add(
        ctx,
        'state.removed',
        s,
        `state ${s} removed`,
        { old: stateSite(ctx.a, s), new: y.site },
        breaks(`programs that request or observe ${s} break`),
        breaks(`drivers implementing ${s} must drop it; its arcs go`),
      );
  for (const s of y.states)
    if (!x.states.includes(s)) {
      const req = y.requires[s] ?? null;
      const optIn = opensNew(req);
      add(
        ctx,
        'state.added',
        s,
        `state ${s} = ${ctx.b.states[s]} added${req ? ` (needs ${req.join('+')})` : ''}`,
        { old: x.site, new: stateSite(ctx.b, s) },
        optIn
          ? ok(`only devices with ${req!.filter((c) => ctx.newCaps.has(c)).join('+')} have it; others behave as before`)
          : review(`existing devices may now report ${s}`),
        optIn
          ? ok(`only drivers that advertise ${req!.filter((c) => ctx.newCaps.has(c)).join('+')} implement it`)
          : breaks(`every driver must implement ${s}`),
      );
    }
  for (const s of x.states) {
    if (!y.states.includes(s)) continue;
    if (!eq(x.requires[s], y.requires[s]))
      add(
        ctx,
        'state.requires-changed',
        s,
        `state ${s}: needs ${x.requires[s]?.join('+') ?? 'never requestable'} → ${y.requires[s]?.join('+') ?? 'never requestable'}`,
        sites,
        review(`which devices offer ${s} changed`),
        review(`which drivers implement ${s} changed`),
      );
  }

  for (const cs of x.capabilitySets)
    if (!y.capabilitySets.includes(cs))
      add(
        ctx,
        'fsm.capability-set-removed',
        cs,
        `capability set ${cs} no longer defined`,
        sites,
        breaks(`devices reporting ${cs} are undefined`),
        breaks(`drivers reporting ${cs} must change`),
      );
  for (const cs of y.capabilitySets)
    if (!x.capabilitySets.includes(cs)) {
      const optIn = cs.split('+').some((c) => ctx.newCaps.has(c));
      add(
        ctx,
        'fsm.capability-set-added',
        cs,
        `capability set ${cs} now defined`,
        sites,
        ok('programs meet it only on devices that opt in'),
        optIn ? ok('drivers opt in') : review('drivers may now report it'),
      );
    }
  if (!eq([...x.mandatory].sort(), [...y.mandatory].sort()))
    add(
      ctx,
      'fsm.mandatory-changed',
      'mandatory',
      `capabilities every migratable device has: ${x.mandatory.join('+')} → ${y.mandatory.join('+')}`,
      sites,
      breaks('programs rely on the mandatory capabilities'),
      breaks('drivers must offer the mandatory capabilities'),
    );
  if (x.initial !== y.initial)
    add(
      ctx,
      'fsm.initial-changed',
      'initial',
      `initial state ${x.initial} → ${y.initial}`,
      sites,
      breaks('programs assume the state after open'),
      breaks('drivers set the state on open'),
    );
  if (x.error !== y.error)
    add(
      ctx,
      'fsm.error-changed',
      'error',
      `error state ${x.error} → ${y.error}`,
      sites,
      breaks('error handling changes'),
      breaks('error handling changes'),
    );
  const epx = new Set(x.endpointOnly);
  const epy = new Set(y.endpointOnly);
  for (const s of epx)
    if (!epy.has(s) && y.states.includes(s))
      add(
        ctx,
        'fsm.endpoint-only-removed',
        s,
        `${s} may now be passed through on the way to another state`,
        sites,
        review(`requests may now pass through ${s}`),
        review(`arcs into and out of ${s} run back to back`),
      );
  for (const s of epy)
    if (!epx.has(s) && x.states.includes(s))
      add(
        ctx,
        'fsm.endpoint-only-added',
        s,
        `${s} may now only end a request`,
        sites,
        review(`paths through ${s} change`),
        ok('the core no longer routes through it'),
      );

  // Arcs.
  const key = (a: { from: string; to: string; when: string[]; unless: string[] }) =>
    `${a.from}->${a.to}${a.when.length ? ` when ${a.when.join('+')}` : ''}${a.unless.length ? ` unless ${a.unless.join('+')}` : ''}`;
  const ax = new Map(x.arcs.map((a) => [key(a), a]));
  const ay = new Map(y.arcs.map((a) => [key(a), a]));
  const byPair = (arcs: typeof x.arcs, a: (typeof x.arcs)[number]) =>
    arcs.filter((b) => b.from === a.from && b.to === a.to);
  for (const [k, a] of ax) {
    if (ay.has(k)) continue;
    const twin = byPair(y.arcs, a).filter((b) => !ax.has(key(b)));
    if (twin.length === 1) {
      const b = twin[0]!;
      add(
        ctx,
        'fsm.arc-condition-changed',
        `${a.from}->${a.to}`,
        `arc ${a.from}->${a.to}: exists ${k} → ${key(b)}`,
        { old: a.site, new: b.site },
        review('on which devices the arc exists changed; paths may differ'),
        breaks('drivers must implement the arc for the new capability sets'),
      );
      ay.delete(key(b));
      continue;
    }
    const goneWith = ctx.goneStates.has(a.from) || ctx.goneStates.has(a.to) || a.when.some((c) => ctx.goneCaps.has(c));
    add(
      ctx,
      'fsm.arc-removed',
      `${a.from}->${a.to}`,
      `arc ${k} removed`,
      { old: a.site, new: y.site },
      goneWith
        ? breaks('goes with the removed state or capability')
        : review('requests that used it take another path, or are refused'),
      goneWith ? breaks('goes with the removed state or capability') : ok('drivers need no longer implement it'),
    );
  }
  for (const [k, b] of ay) {
    if (ax.has(k)) continue;
    if (
      byPair(x.arcs, b).some((a) => !ay.has(key(a)) && byPair(y.arcs, a).filter((bb) => !ax.has(key(bb))).length === 1)
    )
      continue;
    const optIn = b.when.some((c) => ctx.newCaps.has(c)) || ctx.newStates.has(b.from) || ctx.newStates.has(b.to);
    add(
      ctx,
      'fsm.arc-added',
      `${b.from}->${b.to}`,
      `arc ${k} added${b.fd !== 'none' ? ` (${b.fd} the data fd)` : ''}`,
      { old: x.site, new: b.site },
      optIn
        ? ok('only on devices with the new capability or state')
        : review('existing requests may take a different path'),
      optIn
        ? ok('only drivers that advertise the new capability implement it')
        : breaks('every driver with these capabilities must implement the arc'),
    );
  }
  for (const [k, a] of ax) {
    const b = ay.get(k);
    if (!b) continue;
    if (a.fd !== b.fd)
      add(
        ctx,
        'fsm.arc-fd-changed',
        `${a.from}->${a.to}`,
        `arc ${k}: data fd effect ${a.fd} → ${b.fd}`,
        { old: a.site, new: b.site },
        breaks('the data fd opens or closes at a different point'),
        breaks('drivers must create or end the session at a different point'),
      );
    if ((a.since ?? '') !== (b.since ?? ''))
      add(
        ctx,
        'item.since-changed',
        `${a.from}->${a.to}`,
        `arc ${k}: since ${a.since ?? x.since} → ${b.since ?? y.since}`,
        { old: a.site, new: b.site },
        review('programs that gate on the release must use the new one'),
        ok('release metadata only'),
      );
    if (a.doc !== b.doc)
      add(
        ctx,
        'item.doc-changed',
        `${a.from}->${a.to}`,
        `arc ${k}: documentation changed`,
        { old: a.site, new: b.site },
        ok('documentation only'),
        ok('documentation only'),
        [`old: ${a.doc || '(none)'}`, `new: ${b.doc || '(none)'}`],
      );
  }

  // What each request does on each capability set both sides define: refused, or a path with fd effects.
  const shared = y.capabilitySets.filter((cs) => x.capabilitySets.includes(cs));
  /** Requests that an existing device (a capability set both sides define) now carries out differently. */
  const behaviourChanges = (from: string, to: string) =>
    shared.flatMap((cs) => {
      const p = x.paths[cs]?.[from]?.[to];
      const q = y.paths[cs]?.[from]?.[to];
      if (p === undefined || q === undefined || eq(p, q)) return [];
      return [`${cs}: ${from} → ${to}: ${describeRequest(x, cs, from, p)}  ⇒  ${describeRequest(y, cs, from, q)}`];
    });
  const cond = (f: { when: string[]; unless: string[] }) =>
    [
      f.when.length ? `on devices with ${f.when.join('+')}` : 'on every device',
      f.unless.length ? `unless they have ${f.unless.join('+')}` : '',
    ]
      .filter(Boolean)
      .join(' ');

  // Forbidden requests.
  const fk = (f: { from: string; to: string }) => `${f.from}->${f.to}`;
  const fx = new Map(x.forbidden.map((f) => [fk(f), f]));
  const fy = new Map(y.forbidden.map((f) => [fk(f), f]));
  for (const [k, f] of fx)
    if (!fy.has(k) && !ctx.goneStates.has(f.from) && !ctx.goneStates.has(f.to)) {
      const changed = behaviourChanges(f.from, f.to);
      add(
        ctx,
        'fsm.forbidden-removed',
        k,
        `request ${k} is no longer forbidden`,
        { old: f.site, new: y.site },
        changed.length
          ? breaks(
              `existing devices now carry out a request they refused with ${f.errno}; programs that relied on the refusal see a state change and data-fd effects instead (details)`,
            )
          : ok('a request that failed may now succeed, on devices that opt in'),
        review('drivers must carry out the request'),
        changed,
      );
    }
  for (const [k, f] of fy) {
    const g = fx.get(k);
    if (!g) {
      const optIn = ctx.newStates.has(f.from) || ctx.newStates.has(f.to) || f.when.some((c) => ctx.newCaps.has(c));
      add(
        ctx,
        'fsm.forbidden-added',
        k,
        `request ${k} is now forbidden (${f.errno})${f.when.length || f.unless.length ? ` ${cond(f)}` : ''}`,
        { old: x.site, new: f.site },
        optIn ? ok('concerns a new state or capability') : breaks(`programs that requested ${k} now get ${f.errno}`),
        ok('the core refuses it before the driver'),
      );
      continue;
    }
    if (!eq([...g.when].sort(), [...f.when].sort()) || !eq([...g.unless].sort(), [...f.unless].sort())) {
      const changed = behaviourChanges(f.from, f.to);
      const liftedBy = f.unless.filter((c) => !g.unless.includes(c));
      add(
        ctx,
        'fsm.forbidden-condition-changed',
        k,
        `request ${k}: forbidden ${cond(g)} → ${cond(f)}`,
        { old: g.site, new: f.site },
        changed.length
          ? breaks('existing devices answer the request differently (details)')
          : ok(
              liftedBy.length && liftedBy.every((c) => ctx.newCaps.has(c))
                ? `only devices with the new ${liftedBy.join('+')} may carry it out; every other device still refuses it`
                : 'no existing device answers it differently',
            ),
        changed.length
          ? review('drivers of the affected capability sets must carry out or refuse the request as it now says')
          : ok('only drivers that advertise the new capability implement it'),
        changed,
      );
    }
    if (g.errno !== f.errno)
      add(
        ctx,
        'rule.errno-changed',
        k,
        `forbidden request ${k}: errno ${g.errno} → ${f.errno}`,
        { old: g.site, new: f.site },
        review(`programs that test for ${g.errno} must test for ${f.errno}`),
        ok('the core answers'),
      );
    if ((g.kernelFix ?? '') !== (f.kernelFix ?? ''))
      add(
        ctx,
        'fsm.forbidden-kernel-fix-changed',
        k,
        `forbidden request ${k}: kernel fix ${g.kernelFix ?? 'none'} → ${f.kernelFix ?? 'none'}`,
        { old: g.site, new: f.site },
        review('which kernel releases answer the request as the spec says changed'),
        ok('release data only'),
      );
  }

  // Derived paths, per capability set both sides define. Any change in what an existing device does for
  // an existing request is breaking for userspace: refused ⇄ carried out, or other data-fd effects
  // (a live session ended, a new fd opened). Only other intermediate states (seen after a failed SET)
  // need review.
  for (const cs of shared) {
    const px = x.paths[cs] ?? {};
    const py = y.paths[cs] ?? {};
    const changed: string[] = [];
    let refusedNow = 0;
    let allowedNow = 0;
    let fdChanged = 0;
    for (const from of Object.keys(py))
      for (const to of Object.keys(py[from] ?? {})) {
        if (!(from in px) || !(to in (px[from] ?? {}))) continue;
        const p = px[from]![to];
        const q = py[from]![to];
        if (eq(p, q) || p === undefined || q === undefined) continue;
        if (q === null) refusedNow++;
        else if (p === null) allowedNow++;
        else if (!eq(fdEffects(x, cs, from, p), fdEffects(y, cs, from, q))) fdChanged++;
        changed.push(`${from} → ${to}: ${describeRequest(x, cs, from, p)}  ⇒  ${describeRequest(y, cs, from, q)}`);
      }
    if (!changed.length) continue;
    const what = [
      refusedNow && `${refusedNow} now refused`,
      allowedNow && `${allowedNow} now carried out where they were refused`,
      fdChanged && `${fdChanged} with other data-fd effects`,
    ].filter(Boolean);
    add(
      ctx,
      'fsm.path-changed',
      cs,
      `${changed.length} request path(s) change for devices with ${cs}${what.length ? `; ${what.join(', ')}` : ''}`,
      sites,
      refusedNow
        ? breaks('requests that succeeded are now refused')
        : allowedNow || fdChanged
          ? breaks(
              'existing devices now do something else for an existing request: a refused request is carried out, or a data fd is ended or opened where it was not (details)',
            )
          : review('intermediate states differ (visible after a failed SET); the data fd is treated the same'),
      review('drivers run a different sequence of arcs'),
      changed,
    );
  }
  common(ctx, 'state machine', y.name, x, y);
}

/** The data-fd effect of each arc a path takes, e.g. ["STOP_COPY → STOP ends the data fd"]. */
function fdEffects(fsm: IrFsm, cs: string, from: string, path: readonly string[]): string[] {
  const caps = capsOf(cs);
  const out: string[] = [];
  path.forEach((to, i) => {
    const f = i === 0 ? from : path[i - 1]!;
    const a = fsm.arcs.find((arc) => arc.from === f && arc.to === to && arcExists(fsm, caps, arc));
    const fd = a?.fd ?? 'none';
    if (fd === 'none') return;
    const words =
      fd === 'ends'
        ? 'ends the data fd'
        : fd === 'keeps'
          ? 'keeps the data fd'
          : fd === 'opens-saving'
            ? 'opens a new saving fd'
            : 'opens a new resuming fd';
    out.push(`${f} → ${to} ${words}`);
  });
  return out;
}

/** A request's answer in words: "refused (EINVAL, forbidden)" or "STOP → RUNNING → PRE_COPY (STOP_COPY → STOP ends the data fd; …)". */
function describeRequest(fsm: IrFsm, cs: string, from: string, p: string[] | null | undefined): string {
  if (p === null || p === undefined) return 'refused';
  if (!p.length) return '(no-op)';
  const fx = fdEffects(fsm, cs, from, p);
  return `${p.join(' → ')}${fx.length ? ` (${fx.join('; ')})` : ''}`;
}
