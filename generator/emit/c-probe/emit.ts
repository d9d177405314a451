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

/** The C condition under which a release counts as present in the header. */
function releaseCondition(model: ProbeModel, i: number): string {
  const r = model.releases[i]!;
  const parts = r.witnesses.map((w) => `defined(${w})`);
  const newer = model.releases[i - 1];
  if (newer) parts.push(newer.key);
  parts.push(`VU_HEADER_LO >= 0x${r.code.toString(16).padStart(6, '0')}`);
  return parts.join(' || ');
}

/** Render the probe C source for an IR. */
export function renderProbe(ir: Ir): string {
  const model = probeModel(ir);
  template ??= compileTemplate(hb, readFileSync(new URL('./templates/probe.c.hbs', import.meta.url), 'utf8'));
  return template({
    checkCount: model.checks.length,
    releases: model.releases.map((r, i) => ({ key: r.key, cond: releaseCondition(model, i) })),
    checks: model.checks.map((c) => ({
      id: c.id,
      expr: c.expr,
      macro: c.macro ?? null,
      have: c.have,
      since: c.since,
      sinceCode: c.sinceCode,
      expected: c.variants[c.variants.length - 1]!.expected,
      variants: c.variants.map((v) => ({ when: v.when, expected: v.expected, note: v.note })),
    })),
  });
}

export function emit(ir: Ir): GeneratedFile[] {
  return [{ path: PROBE_PATH, content: renderProbe(ir) }];
}
