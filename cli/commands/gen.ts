import { parseArgs } from 'node:util';
import type { Command } from '../command.js';

const gen: Command = {
  summary: 'regenerate generated/ from the spec (writes only changed files); --check fails if any differ',
  usage: 'vfio-uapi gen [--check] [--spec MODULE]',
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { check: { type: 'boolean' }, spec: { type: 'string' } },
      strict: true,
    });
    const { loadSpec, REPO_ROOT } = await import('../../generator/ir/load.js');
    const { generateAll, writeGenerated } = await import('../../generator/gen.js');
    const { proveOrThrow } = await import('../../generator/check/prove.js');
    const ir = await loadSpec(values.spec);
    proveOrThrow(ir);
    const files = await generateAll(ir);
    const r = writeGenerated(files, REPO_ROOT, values.check ?? false);
    if (values.check) {
      if (r.differing.length) {
        console.error(`generated/ is out of date; these files differ from what the spec generates:`);
        for (const p of r.differing) console.error(`  ${p}`);
        console.error('run `npm run gen` and commit the result');
        return 1;
      }
      console.log(`generated/ is up to date (${r.unchanged.length} files)`);
      return 0;
    }
    console.log(`wrote ${r.written.length} file(s), ${r.unchanged.length} unchanged`);
    for (const p of r.written) console.log(`  ${p}`);
    return 0;
  },
};
export default gen;
