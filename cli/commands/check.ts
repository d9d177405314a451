import { parseArgs } from 'node:util';
import type { Command } from '../main.js';

const check: Command = {
  summary: 'load the spec, run its consistency checks and the state-machine proofs',
  usage: 'vfio-uapi check [--spec MODULE] [--json]',
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { spec: { type: 'string' }, json: { type: 'boolean' } },
      strict: true,
    });
    const { loadSpec } = await import('../../generator/ir/load.js');
    const { prove } = await import('../../generator/check/prove.js');
    const ir = await loadSpec(values.spec, { docs: false });
    const failures = prove(ir);
    if (values.json) console.log(JSON.stringify({ ok: failures.length === 0, failures }, null, 2));
    else if (failures.length)
      for (const f of failures)
        console.error(`[${f.property}] caps ${f.caps}, request ${f.request}: ${f.message} (path ${f.path})`);
    else
      console.log(
        `spec ok: ${Object.keys(ir.structs).length} structs, ${Object.keys(ir.ioctls).length} ioctls, ${Object.keys(ir.rules).length} rules; state machine proofs hold for ${ir.fsm.capabilitySets.join(', ')}`,
      );
    return failures.length ? 1 : 0;
  },
};
export default check;
