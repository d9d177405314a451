import { parseArgs } from 'node:util';
import type { Command } from '../command.js';

const headerCheck: Command = {
  summary:
    'compile the C layout probe against kernel headers as their release had them (LP64 or --abi i386): verified / absent / retired / mismatched, and header items neither in the spec nor out of scope; --diff writes spec code for them',
  usage: 'vfio-uapi header-check [--include DIR] [--abi lp64|i386] [--json] [--diff] [--spec MODULE] [--verbose]',
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        include: { type: 'string' },
        abi: { type: 'string' },
        json: { type: 'boolean' },
        diff: { type: 'boolean' },
        spec: { type: 'string' },
        verbose: { type: 'boolean', short: 'v' },
      },
      strict: true,
    });
    if (values.abi !== undefined && values.abi !== 'lp64' && values.abi !== 'i386') {
      console.error(`header-check: --abi must be lp64 or i386, not "${values.abi}"`);
      return 2;
    }
    const abi = (values.abi ?? 'lp64') as 'lp64' | 'i386';
    const { loadSpec } = await import('../../generator/ir/load.js');
    const { headerCheck } = await import('../../generator/header/check.js');
    const { formatReport } = await import('../../generator/header/format.js');
    const ir = await loadSpec(values.spec, { docs: false });
    const report = headerCheck(ir, { include: values.include, abi });
    let diff: import('../../generator/header/diff.js').HeaderDiff | undefined;
    let suggestions: import('../../generator/header/suggest.js').Suggestions | undefined;
    if (values.diff) {
      const { headerDiff } = await import('../../generator/header/diff.js');
      const { specIndex, suggest } = await import('../../generator/header/suggest.js');
      const { DEFAULT_SPEC } = await import('../../generator/ir/load.js');
      const { resolve } = await import('node:path');
      diff = headerDiff(ir, { include: values.include, abi });
      suggestions = suggest(diff, ir, await specIndex(resolve(values.spec ?? DEFAULT_SPEC)));
    }
    if (values.json) {
      console.log(JSON.stringify(diff ? { ...report, diff, suggestions } : report, null, 2));
    } else {
      console.log(formatReport(report, { verbose: values.verbose ?? false }));
      if (suggestions) {
        const { formatSuggestions } = await import('../../generator/header/suggest.js');
        console.log('');
        console.log(formatSuggestions(suggestions));
      }
    }
    return report.counts.mismatched > 0 ? 1 : 0;
  },
};
export default headerCheck;
