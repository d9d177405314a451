import { readFileSync } from 'node:fs';
import type { Ir } from '../../ir/types.js';
import type { GeneratedFile } from '../index.js';
import { probeModel, type ProbeModel } from '../../header/checks.js';
import { compileTemplate, handlebars, type Template } from '../shared/render.js';

/** Where the probe is written; `header-check` compiles this content (rendered from the IR it checks). */
export const PROBE_PATH = 'generated/c-probe/vfio_uapi_probe.c';

const hb = handlebars();
hb.registerHelper('hex', (n: number) => '0x' + n.toString(16).padStart(6, '0'));
let template: Template | undefined;

/** The C condition under which a release counts as present in a header without LINUX_VERSION_CODE. */
function witnessCondition(model: ProbeModel, i: number): string {
  const r = model.releases[i]!;
  const parts = r.witnesses.map((w) => `defined(${w})`);
  const newer = model.releases[i - 1];
  if (newer) parts.push(newer.key);
  return parts.length ? parts.join(' || ') : '0';
}

/** Render the probe C source for an IR. */
export function renderProbe(ir: Ir): string {
  const model = probeModel(ir);
  template ??= compileTemplate(hb, readFileSync(new URL('./templates/probe.c.hbs', import.meta.url), 'utf8'));
  return template({
    checkCount: model.checks.length,
    releases: model.releases.map((r, i) => ({
      key: r.key,
      code: r.code,
      release: r.release,
      cond: witnessCondition(model, i),
    })),
    checks: model.checks.map((c) => ({
      id: c.id,
      expr: c.expr,
      macro: c.macro ?? null,
      have: c.have,
      since: c.since,
      sinceCode: c.sinceCode,
      until: c.until ?? null,
      untilHave: c.untilHave ?? null,
      expected: c.variants[c.variants.length - 1]!.expected,
      variants: c.variants.map((v) => ({ when: v.when, expr: v.expr, expected: v.expected, note: v.note })),
    })),
  });
}

export function emit(ir: Ir): GeneratedFile[] {
  return [{ path: PROBE_PATH, content: renderProbe(ir) }];
}
