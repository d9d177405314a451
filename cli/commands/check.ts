import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';

const check: Command = {
  summary:
    'load the spec, run its consistency checks and the state-machine proofs; --kernel-table runs the kernel algorithm over a table',
  usage: 'vfio-uapi check [--spec MODULE] [--kernel-table FILE.json] [--json]',
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { spec: { type: 'string' }, json: { type: 'boolean' }, 'kernel-table': { type: 'string' } },
      strict: true,
    });
    const { loadSpec } = await import('../../generator/ir/load.js');
    const ir = await loadSpec(values.spec, { docs: false });

    const tableFile = values['kernel-table'];
    if (tableFile) {
      const { checkKernelTable, fsmFacts, parseKernelTable } = await import('../../generator/fsm/kernel-table.js');
      const table = parseKernelTable(JSON.parse(readFileSync(tableFile, 'utf8')));
      const findings = checkKernelTable(fsmFacts(ir), table);
      if (values.json) console.log(JSON.stringify({ ok: findings.length === 0, table: tableFile, findings }, null, 2));
      else if (findings.length) {
        console.error(`${tableFile}: ${findings.length} problem(s) running the kernel's algorithm over this table:`);
        for (const f of findings)
          console.error(
            `[${f.problem}] caps ${f.caps}, request ${f.request}: ${f.message} (${f.problem === 'non-termination' ? `looked up ${[f.request.split('->')[0], ...f.path].join(' → ')} → …` : `path ${f.path.join(' → ') || '(none)'}`})`,
          );
      } else
        console.log(
          `${tableFile}: the kernel's algorithm over this table gives the spec's path for every request of ${ir.fsm.capabilitySets.join(', ')}`,
        );
      return findings.length ? 1 : 0;
    }

    const { prove, formatFailure } = await import('../../generator/check/prove.js');
    const failures = prove(ir);
    if (values.json) console.log(JSON.stringify({ ok: failures.length === 0, failures }, null, 2));
    else if (failures.length) for (const f of failures) console.error(formatFailure(f));
    else
      console.log(
        `spec ok: ${Object.keys(ir.structs).length} structs, ${Object.keys(ir.ioctls).length} ioctls, ${Object.keys(ir.rules).length} rules; state machine proofs hold for ${ir.fsm.capabilitySets.join(', ')}`,
      );
    return failures.length ? 1 : 0;
  },
};
export default check;
