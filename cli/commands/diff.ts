import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';

const USAGE = `vfio-uapi diff OLD NEW [--format text|markdown|json] [--json] [--allow FILE] [--out FILE] [--svg-dir DIR] [--no-docs]

  OLD, NEW    a spec directory (its index.ts), a spec module (.ts), or a git revision of this
              repository: HEAD~1, a tag, a commit, or REV:path/to/module.ts. A revision is unpacked
              with git archive into build/diff/rev/ and loaded with its own spec/dsl; reports name it
              by its abbreviated id and subject.
              Overlay modules (examples/uapi-history/) may mark removals and an asOf release:
              the spec as that release had it, fields renamed or retyped later in their old form.
  --format    text (default), markdown (mailing-list reply / PR comment), json; --json = --format json
  --allow F   allow-list of deliberate breaks: lines "RULE-ID ITEM REASON" (* globs; # comments),
              or a .json array of {rule, item, reason}. Approved changes are reported as allowed
              and do not make the exit code breaking; entries matching nothing are warned about.
  --out F     write the report to F instead of stdout
  --svg-dir D when the state machine changed, render both sides as one Graphviz SVG (D/fsm-diff.svg)
              and link it from the Markdown report: relative to the folder of --out, or an absolute
              path when the report goes to stdout (a relative one would depend on where it is read)
  --no-docs   skip reading doc comments (faster; doc-only changes are not seen)

Every change names a rule id (struct.size-changed, rule.valid-states-narrowed, ...), the item, the
file:line on both sides, and an impact for userspace and for drivers: compatible, needs-review or
breaking. Renames are judged by what binaries see: a field at the same offset and size, a flag bit,
enum member or capability flag with the same value, a migration state with the same value and arcs is
renamed (ABI-compatible, a source break: needs review), not removed and added.

exit codes:
   0  no semantic change
  10  only compatible changes (allowed breaks count as compatible)
  11  changes that need review, none breaking
  20  breaking changes not in the allow-list
   1  failure (a side does not load, bad allow-list)
   2  usage error`;

const diff: Command = {
  summary: 'semantic diff of two spec revisions, classified for userspace and drivers (exit 0/10/11/20)',
  usage: USAGE,
  async run(args) {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        allowPositionals: true,
        options: {
          format: { type: 'string' },
          json: { type: 'boolean' },
          allow: { type: 'string' },
          out: { type: 'string' },
          'svg-dir': { type: 'string' },
          'no-docs': { type: 'boolean' },
        },
        strict: true,
      });
    } catch (e) {
      console.error(`vfio-uapi diff: ${(e as Error).message}\nusage: ${USAGE.split('\n')[0]}`);
      return 2;
    }
    const { values, positionals } = parsed;
    const format = values.json ? 'json' : (values.format ?? 'text');
    if (positionals.length !== 2 || !['text', 'markdown', 'md', 'json'].includes(format)) {
      console.error(`usage: ${USAGE.split('\n')[0]}`);
      return 2;
    }
    const d = await import('../../generator/diff/index.js');
    let result;
    try {
      result = await d.diffSpecs(positionals[0]!, positionals[1]!, {
        docs: !values['no-docs'],
        ...(values.allow ? { allow: values.allow } : {}),
      });
    } catch (e) {
      const err = e as Error & { problems?: { site: { file: string; line: number }; message: string }[] };
      console.error(`vfio-uapi diff: ${err.message}`);
      return 1;
    }
    if (values['svg-dir'] && result.changes.some((c) => /^(fsm|state|capability)\./.test(c.rule))) {
      const { diffDot, renderSvg } = await import('../../generator/diff/diagram.js');
      const dir = resolve(values['svg-dir']);
      mkdirSync(dir, { recursive: true });
      const file = join(dir, 'fsm-diff.svg');
      writeFileSync(file, await renderSvg(diffDot(result.old.fsm, result.new.fsm)));
      result.fsmSvg = values.out ? relative(dirname(resolve(values.out)), file) : file;
    }
    const text =
      format === 'json' ? d.renderJson(result) : format === 'text' ? d.renderText(result) : d.renderMarkdown(result);
    if (values.out) {
      mkdirSync(dirname(resolve(values.out)), { recursive: true });
      writeFileSync(values.out, text);
    } else process.stdout.write(text);
    for (const e of result.staleAllows)
      if (format !== 'text') console.error(`warning: allow-list entry ${e.at} (${e.rule} ${e.item}) matched no change`);
    return d.summary(result.changes).exitCode;
  },
};
export default diff;
