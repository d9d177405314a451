import type { Ir, IrField, IrRule } from '../../ir/types.js';
import type { GeneratedFile } from '../index.js';
import { pascal, specSources } from '../shared/naming.js';
import { render, tsHeader } from '../shared/render.js';

const here = new URL('.', import.meta.url).pathname;

/** Code for each feature-header condition the spec names, keyed by the rule's condition text. */
const FEATURE_CONDITIONS: Record<string, string> = {
  'header not readable': 'call.headerReadable === false',
  'argsz < 8': 'call.argsz < 8',
  'flags outside MASK|GET|SET|PROBE': '(call.flags & ~FEATURE_KNOWN_FLAGS) !== 0',
  'GET and SET without PROBE': 'get && set && !probe',
  'index unknown to core and driver': 'feature === undefined || !device.supports(feature)',
  'device lacks what the feature needs': '!device.has(feature!.needs)',
  'GET or SET not supported by the feature':
    '(get && !feature!.ops.includes("GET")) || (set && !feature!.ops.includes("SET"))',
  'neither GET nor SET': '!get && !set',
  'argsz - 8 < minsz': 'call.argsz - 8 < feature!.minsz',
};

function structChecks(name: string, fields: IrField[], minsz: number, ir: Ir): string[] {
  const lines: string[] = [];
  for (const f of fields) {
    const v = `value.${f.name}`;
    const at = `'${name}.${f.name}'`;
    if (f.role.kind === 'argsz')
      lines.push(
        `if (${v} < ${minsz}) problems.push({ rule: 'struct.argsz', field: ${at}, errno: 'EINVAL', message: \`${f.name} is \${${v}}, below the ${minsz} bytes the kernel needs\` });`,
      );
    if (f.direction === 'out') continue;
    if (f.role.kind === 'flags') {
      const fl = ir.flags[f.role.flags]!;
      const known =
        Object.values(fl.members).reduce((a, m) => a | m.value, 0) |
        Object.values(fl.masks).reduce((a, m) => a | m.value, 0);
      const cast = f.ir.kind === 'scalar' && f.ir.size === 8 ? `BigInt(${known >>> 0})` : `${known >>> 0}`;
      const zero = f.ir.kind === 'scalar' && f.ir.size === 8 ? '0n' : '0';
      const and = f.ir.kind === 'scalar' && f.ir.size === 8 ? `(${v} & ~${cast})` : `((${v} & ~${cast}) >>> 0)`;
      lines.push(
        `if (${and} !== ${zero}) problems.push({ rule: 'struct.flags.unknown', field: ${at}, errno: 'EINVAL', message: \`${f.name} has bits the spec does not know (\${${v}.toString(16)} outside 0x${(known >>> 0).toString(16)})\` });`,
      );
    }
    if (f.role.kind === 'reserved') {
      const zero = f.ir.kind === 'scalar' && f.ir.size === 8 ? '0n' : '0';
      lines.push(
        `if (${v} !== ${zero}) problems.push({ rule: 'struct.reserved', field: ${at}, errno: 'EINVAL', message: '${f.name} is reserved and must be zero' });`,
      );
    }
    if (f.role.kind === 'enum') {
      const values = Object.values(ir.enums[f.role.enum]!.members).map((m) => m.value);
      lines.push(
        `if (![${values.join(', ')}].includes(${v})) problems.push({ rule: 'struct.enum', field: ${at}, errno: 'EINVAL', message: \`${f.name} is \${${v}}, not a value of ${f.role.enum}\` });`,
      );
    }
    if (f.role.kind === 'pointer' && f.role.required)
      lines.push(
        `if (${v} === 0n) problems.push({ rule: 'struct.pointer', field: ${at}, errno: 'EFAULT', message: '${f.name} must point at user memory, not NULL' });`,
      );
    if (f.ir.kind === 'flex' && f.ir.countedBy)
      lines.push(
        `if (value.${f.ir.countedBy} !== ${v}.length) problems.push({ rule: 'struct.count', field: ${at}, errno: 'EINVAL', message: \`${f.ir.countedBy} is \${value.${f.ir.countedBy}} but ${f.name} has \${${v}.length} element(s)\` });`,
      );
  }
  return lines;
}

const rulesOf = (ir: Ir, kind: IrRule['kind']) => Object.values(ir.rules).filter((r) => r.kind === kind);

export function emit(ir: Ir): GeneratedFile[] {
  const structs = Object.entries(ir.structs).map(([n, s]) => ({
    cName: n,
    P: pascal(n),
    checks: structChecks(n, s.fields, s.minsz, ir),
  }));
  const stateRules = rulesOf(ir, 'state-validity').map((r) => ({
    op: r.op!,
    info: JSON.stringify({ rule: r.id, on: r.on, validIn: r.validIn, otherwise: r.otherwise, strength: r.strength }),
  }));
  const streamRules = rulesOf(ir, 'stream').map((r) => ({
    id: r.id,
    info: JSON.stringify({ io: r.io, on: r.on, strength: r.strength, perState: r.perState }),
  }));
  const featureChecks = rulesOf(ir, 'errno')
    .filter((r) => r.op === 'VFIO_DEVICE_FEATURE' && r.order !== undefined)
    .sort((a, b) => a.order! - b.order!)
    .map((r) => {
      const code = FEATURE_CONDITIONS[r.condition!];
      if (!code)
        throw new Error(
          `${r.site.file}:${r.site.line}: rule ${r.id}: the validators emitter has no code for condition "${r.condition}" — add it to FEATURE_CONDITIONS`,
        );
      // A missing capability answers with the feature's own errno (ENOTTY, or EINVAL for the v2 opt-in
      // on a device that migrates but lacks PRE_COPY).
      const errno =
        r.condition === 'device lacks what the feature needs' ? 'missingErrno(feature!, device)' : `'${r.errno}'`;
      return { id: r.id, code, errno, condition: r.condition! };
    });
  const probeAfter = featureChecks.findIndex((c) => c.id === 'feature.check.op');
  const capRules = rulesOf(ir, 'capability').map((r) => ({
    id: r.id,
    info: JSON.stringify({
      ifCaps: r.ifCaps,
      requiresOp: r.requiresOp ?? null,
      requiresCaps: r.requiresCaps ?? null,
      strength: r.strength,
    }),
  }));
  const header = tsHeader('validators', specSources(ir.meta.specFiles));
  const forbiddenRule =
    Object.values(ir.rules).find((r) => r.condition === 'forbidden request')?.id ?? 'mig.state.set.forbidden';
  const invalidRule =
    Object.values(ir.rules).find((r) => r.condition?.startsWith('requested state unsupported'))?.id ??
    'mig.state.set.invalid';
  return [
    {
      path: 'generated/validators.ts',
      content: render(here, 'validators', {
        header,
        structs,
        stateRules,
        streamRules,
        featureChecksBeforeProbe: featureChecks.slice(0, probeAfter + 1),
        featureChecksAfterProbe: featureChecks.slice(probeAfter + 1),
        capRules,
        forbiddenRule,
        invalidRule,
      }),
    },
  ];
}
