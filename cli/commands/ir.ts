import { parseArgs } from 'node:util';
import type { Command } from '../command.js';

const ir: Command = {
  summary: 'print the IR of a spec (all layouts, numbers, state-machine paths) as JSON',
  usage: 'vfio-uapi ir [--json] [--spec MODULE]',
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { json: { type: 'boolean' }, spec: { type: 'string' } },
      strict: true,
    });
    const { loadSpec } = await import('../../generator/ir/load.js');
    const result = await loadSpec(values.spec);
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return 0;
  },
};
export default ir;
