// Layout facts of one header, as the compiler sees them: for every struct the spec describes, the size,
// alignment and each member's offset and size as the header declares it (by the header's own member names);
// for every name the spec knows (current and earlier names of its values, ioctls), the integer value. These
// are what test/fixtures/kernel-layouts/<version>.json hold, so layout tests compare the IR, the generated
// codecs and the koffi types with the kernel's headers, not with themselves.
import type { Ir } from '../../generator/ir/types.js';
import { headerFlags, type Abi } from '../../generator/header/check.js';
import { parseMembers, structBodies } from '../../generator/header/diff.js';
import { HEADERS_TU, compileAndRun } from '../../generator/header/gcc.js';
import { headerInventory, preprocessedByFile } from '../../generator/header/inventory.js';

/** Offset and size of a member; the size of a flexible array member is null (it has none). */
export type MemberFact = [offset: number, size: number | null];

export interface StructFacts {
  size: number;
  align: number;
  fields: Record<string, MemberFact>;
}

export interface HeaderFacts {
  structs: Record<string, StructFacts>;
  values: Record<string, number>;
}

const byName = <T>(o: Record<string, T>): Record<string, T> =>
  Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** Measure the spec's structs and names in the headers under `include` for one ABI. */
export function measureHeader(ir: Ir, include: string, abi: Abi): HeaderFacts {
  const flags = headerFlags({ include, abi });
  const headers = preprocessedByFile(flags);
  const bodies = structBodies([...headers.text.values()].join('\n'));
  const names = new Set([...Object.keys(ir.constants), ...Object.keys(ir.ioctls), ...Object.keys(ir.formerNames)]);
  const present = headerInventory(headers)
    .filter((i) => i.kind !== 'struct' && !i.functionLike && names.has(i.name))
    .map((i) => i.name);

  const lines = [HEADERS_TU, '#include <stdio.h>', '#include <stddef.h>', 'int main(void) {'];
  for (const n of [...new Set(present)].sort()) lines.push(`printf("V\\t${n}\\t%lld\\n", (long long)(${n}));`);
  const members = new Map<string, ReturnType<typeof parseMembers>>();
  for (const s of Object.keys(ir.structs).sort()) {
    const body = bodies.get(s);
    if (body === undefined) continue;
    const ms = parseMembers(body);
    members.set(s, ms);
    lines.push(`printf("Z\\t${s}\\t%zu\\t%zu\\n", sizeof(struct ${s}), _Alignof(struct ${s}));`);
    for (const m of ms) {
      lines.push(`printf("O\\t${s}\\t${m.name}\\t%zu\\n", offsetof(struct ${s}, ${m.name}));`);
      if (!m.flex) lines.push(`printf("L\\t${s}\\t${m.name}\\t%zu\\n", sizeof(((struct ${s} *)0)->${m.name}));`);
    }
  }
  lines.push('return 0; }');
  // Nothing may be dropped: every line measures something the header declares.
  const run = compileAndRun(lines.join('\n'), flags, () => null);
  if (run.exitCode !== 0) throw new Error(`measuring ${include} (${abi}): the program exited ${run.exitCode}`);

  const structs: Record<string, StructFacts> = {};
  const values: Record<string, number> = {};
  for (const line of run.stdout.split('\n')) {
    const [tag, a = '', b = '', c = ''] = line.split('\t');
    if (tag === 'V') values[a] = Number(b);
    else if (tag === 'Z') structs[a] = { size: Number(b), align: Number(c), fields: {} };
    else if (tag === 'O') structs[a]!.fields[b] = [Number(c), null];
    else if (tag === 'L') structs[a]!.fields[b]![1] = Number(c);
  }
  for (const s of Object.values(structs)) s.fields = Object.fromEntries(Object.entries(s.fields));
  return { structs: byName(structs), values: byName(values) };
}
