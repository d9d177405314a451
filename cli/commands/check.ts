import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import type { Ir } from '../../generator/ir/types.js';

const USAGE = `vfio-uapi check [--spec MODULE] [--kernel-table FILE.json [--kernel RELEASE]] [--json]

  --spec M          spec module to check (default spec/vfio/index.ts)
  --kernel-table F  run the kernel's table-driven step algorithm (vfio_mig_get_next_state) over the
                    table in F (kernel format: "next", "requires", optional "states" and
                    "capabilityFlags"; at most 1 MiB) for every capability set and request, and report
                    loops, paths that differ from the spec, steps no driver implements, interior fd
                    opens and saving states passed through. Without --kernel it runs every version of
                    the algorithm: before a26b499b757c the skip loop never ends at ERROR (a blocked
                    request hangs); since it (7.2, 6.12.96) the request is refused with EINVAL.
  --kernel R        run only the algorithm release R has (e.g. 6.12.95, 6.12.96, 7.2.13)
  --json            the result as JSON

exit codes: 0 no problem, 1 problems found (spec checks or the table), 2 bad input (usage, a table file
that cannot be read or is not a valid kernel table: the one line says what and where)`;

const check: Command = {
  summary:
    'load the spec, run its consistency checks and the state-machine proofs; --kernel-table runs the kernel algorithm over a table',
  usage: USAGE,
  async run(args) {
    let values;
    try {
      ({ values } = parseArgs({
        args,
        options: {
          spec: { type: 'string' },
          json: { type: 'boolean' },
          'kernel-table': { type: 'string' },
          kernel: { type: 'string' },
        },
        strict: true,
      }));
    } catch (e) {
      console.error(`vfio-uapi check: ${(e as Error).message}\nusage: ${USAGE.split('\n')[0]}`);
      return 2;
    }
    if (values.kernel !== undefined && values['kernel-table'] === undefined) {
      console.error('vfio-uapi check: --kernel picks the step algorithm for --kernel-table; give a table too');
      return 2;
    }
    const { loadSpec } = await import('../../generator/ir/load.js');
    const ir = await loadSpec(values.spec, { docs: false });

    const tableFile = values['kernel-table'];
    if (tableFile !== undefined) return checkTable(ir, tableFile, values.kernel, values.json ?? false);

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

async function checkTable(ir: Ir, tableFile: string, kernel: string | undefined, json: boolean): Promise<number> {
  const kt = await import('../../generator/fsm/kernel-table.js');
  const kf = await import('../../generator/fsm/kernel-fixes.js');
  const facts = kt.fsmFacts(ir);
  let algorithms = [...kt.STEP_ALGORITHMS];
  if (kernel !== undefined) {
    const fix = kf.stepAlgorithmFix(ir.kernelFixes);
    let status;
    try {
      status = fix ? kf.fixStatus(fix, kernel) : (kf.stepAlgorithmOf([], kernel), 'affected');
    } catch (e) {
      console.error(`vfio-uapi check: --kernel ${(e as Error).message}`);
      return 2;
    }
    if (status === 'unaffected') {
      console.error(
        `vfio-uapi check: --kernel ${kernel}: the kernel table and step algorithm modelled here start with ${fix!.fixes!.release} (${fix!.fixes!.commit} "${fix!.fixes!.subject}"); older kernels have no PRE_COPY states`,
      );
      return 2;
    }
    algorithms = [kf.stepAlgorithmOf(ir.kernelFixes, kernel)];
  }
  let table;
  try {
    table = kt.readKernelTableFile(tableFile, facts);
  } catch (e) {
    if (!(e instanceof kt.KernelTableInputError)) throw e;
    console.error(`vfio-uapi check: ${e.message}`);
    return 2;
  }
  const results = algorithms.map((algorithm) => ({
    algorithm,
    runs: kf.describeStepAlgorithm(ir.kernelFixes, algorithm),
    findings: kt.checkKernelTable(facts, table, algorithm),
  }));
  const problems = results.reduce((n, r) => n + r.findings.length, 0);
  if (json)
    console.log(
      JSON.stringify(
        {
          ok: problems === 0,
          table: tableFile,
          kernel: kernel ?? null,
          results: results.map((r) => ({ ...r, ok: r.findings.length === 0 })),
          findings: results.flatMap((r) => r.findings),
        },
        null,
        2,
      ),
    );
  else
    for (const r of results) {
      if (!r.findings.length) {
        console.log(
          `${tableFile}, ${r.runs}: every request of ${ir.fsm.capabilitySets.join(', ')} gets the spec's path or its refusal`,
        );
        continue;
      }
      console.log(`${tableFile}, ${r.runs}: ${r.findings.length} problem(s):`);
      for (const f of r.findings)
        console.log(
          `  [${f.problem}] caps ${f.caps}, request ${f.request}: ${f.message} (${f.problem === 'non-termination' ? `looked up ${[f.request.split('->')[0], ...f.path].join(' → ')} → …` : `path ${f.path.join(' → ') || '(none)'}`})`,
        );
    }
  return problems ? 1 : 0;
}

export default check;
