/**
 * Checks built from a rule's data alone, so a new rule of these kinds is judged without new code:
 * state-validity (issue the op in every state), capability (flags and mandatory ops), and read-side
 * stream rules (read to the end in each listed state and compare how it ends).
 */
import type { CheckContext } from '../context.js';
import type { SpecRule } from '../spec-data.js';
import { VfioMigrationFlags } from '../../../generated/constants.js';
import type { Check } from './check.js';
import { operation, routesTo } from './operations.js';

function stateValidity(rule: SpecRule, ctx: CheckContext): Check | null {
  const op = operation(ctx, rule.op ?? '');
  if (!op) return null;
  return {
    rule: rule.id,
    run(c) {
      for (const state of c.states())
        for (const route of routesTo(c, state)) {
          const { fd, kind } = route.enter();
          if (op.needsDataFd && fd < 0) {
            c.note(`not asked in ${state}: no data fd exists there`);
            continue;
          }
          // Data-fd ioctls belong to the saving fd; a resuming fd may not implement ioctls at all (mtty: ENOTTY).
          if (op.needsDataFd && kind !== 'saving') {
            c.note(`not asked in ${state}: its data fd is a ${kind} fd`);
            continue;
          }
          const valid = rule.validIn === 'any' || (rule.validIn ?? []).includes(state);
          const r = op.call(c, fd);
          const what = `${rule.op} in ${route.label}`;
          if (valid || r.ok || rule.otherwiseStrength !== 'should')
            c.expectOutcome(what, valid ? 'success' : (rule.otherwise ?? 'EINVAL'), r);
          // Refused, as it must be; which errno is only a recommendation.
          else c.expect(what, rule.otherwise ?? 'EINVAL', r.errno, 'should');
        }
    },
  };
}

function capability(rule: SpecRule, ctx: CheckContext): Check | null {
  const op = rule.requiresOp ? operation(ctx, rule.requiresOp) : null;
  if (rule.requiresOp && !op) return null;
  return {
    rule: rule.id,
    run(c) {
      if (c.facts.migrationFlags === null) return c.skip('the device does not support migration');
      const flags: number = c.facts.migrationFlags;
      const bit = (n: string) => VfioMigrationFlags[n as keyof typeof VfioMigrationFlags] ?? 0;
      const missing = (rule.ifCaps ?? []).filter((n) => (flags & bit(n)) === 0);
      if (missing.length) c.skip(`the device does not advertise ${missing.join('+')}`);
      for (const need of rule.requiresCaps ?? [])
        c.expect(
          `${(rule.ifCaps ?? []).join('+')} comes with ${need}`,
          `${need} set`,
          flags & bit(need) ? `${need} set` : `${need} missing (flags 0x${flags.toString(16)})`,
        );
      if (!op) return;
      // Ask where the op is meant to answer: the first state of its validity rule, else the initial state.
      const validity = Object.values(c.spec.rules).find((r) => r.kind === 'state-validity' && r.op === rule.requiresOp);
      const where = validity && validity.validIn !== 'any' ? validity.validIn?.[0] : undefined;
      const fd = c.reach(where ?? c.spec.fsm.initial).fd;
      c.expectOutcome(`${rule.requiresOp}${where ? ` in ${where}` : ''}`, 'success', op.call(c, fd));
    },
  };
}

/** Read to the end in 64 KiB steps, remembering the largest answer (short reads are legal, but worth a note). */
function readSteps(c: CheckContext, fd: number): { bytes: number; end: string; largest: number; asked: number } {
  const buf = Buffer.alloc(64 * 1024);
  let bytes = 0;
  let largest = 0;
  for (;;) {
    const r = c.raw.read(fd, buf);
    if (!r.ok && (r.errno === 'EINTR' || r.errno === 'EAGAIN')) continue;
    if (!r.ok) return { bytes, end: r.errno, largest, asked: buf.length };
    if (r.ret === 0) return { bytes, end: 'EOF', largest, asked: buf.length };
    largest = Math.max(largest, r.ret);
    bytes += r.ret;
  }
}

function streamRead(rule: SpecRule): Check {
  return {
    rule: rule.id,
    run(c) {
      let asked = 0;
      for (const [state, want] of Object.entries(rule.perState ?? {})) {
        if (!c.states().includes(state)) continue;
        for (const route of routesTo(c, state)) {
          const { fd } = route.enter();
          if (fd < 0) {
            c.fail(`a data fd in ${route.label}`, 'a saving fd', 'none was handed out');
            continue;
          }
          asked++;
          const got = readSteps(c, fd);
          // Several full buffers of data, yet no read filled one: the device cuts reads short (legal).
          if (got.bytes > 4 * got.asked && got.largest < got.asked)
            c.note(
              `no read in ${route.label} returned more than ${got.largest} of the ${got.asked} bytes asked (short reads: legal for a stream)`,
            );
          if (want.end) c.expect(`how the data ends in ${route.label} (after ${got.bytes} bytes)`, want.end, got.end);
          for (const never of want.never ?? [])
            if (got.end === never) c.fail(`${never} in ${route.label}`, `never ${never}`, never);
          if (want.end === 'EOF' && got.end === 'EOF')
            for (let i = 0; i < 3; i++) {
              const again = c.raw.read(fd, Buffer.alloc(16));
              c.expect(
                `read() == 0 stays in ${route.label} (again #${i + 1})`,
                'EOF',
                again.ok ? (again.ret === 0 ? 'EOF' : `${again.ret} bytes`) : again.errno,
              );
            }
        }
      }
      if (!asked) c.skip(`the device has none of the states ${Object.keys(rule.perState ?? {}).join(', ')}`);
    },
  };
}

/** A check derived from the rule's kind and data, or null when its data names nothing the suite can do. */
export function genericCheck(rule: SpecRule, ctx: CheckContext): Check | null {
  if (rule.kind === 'state-validity') return stateValidity(rule, ctx);
  if (rule.kind === 'capability') return capability(rule, ctx);
  if (rule.kind === 'stream' && rule.io === 'read') return streamRead(rule);
  return null;
}
