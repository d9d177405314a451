import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { emitters, type GeneratedFile } from './emit/index.js';
import type { Ir } from './ir/types.js';

/** Run every emitter over the IR; paths are checked for collisions. */
export async function generateAll(ir: Ir): Promise<GeneratedFile[]> {
  const out: GeneratedFile[] = [];
  const seen = new Set<string>();
  for (const emit of await emitters()) {
    for (const f of await emit(ir)) {
      if (seen.has(f.path)) throw new Error(`two emitters write ${f.path}`);
      seen.add(f.path);
      out.push(f);
    }
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

export interface GenResult {
  written: string[];
  unchanged: string[];
  differing: string[];
}

/** Write generated files that changed (or, with `check`, only report which differ). */
export function writeGenerated(files: GeneratedFile[], root: string, check: boolean): GenResult {
  const r: GenResult = { written: [], unchanged: [], differing: [] };
  for (const f of files) {
    const abs = join(root, f.path);
    const current = existsSync(abs) ? readFileSync(abs, 'utf8') : null;
    if (current === f.content) {
      r.unchanged.push(f.path);
      continue;
    }
    r.differing.push(f.path);
    if (!check) {
      mkdirSync(dirname(abs), { recursive: true });
      writeFileSync(abs, f.content);
      r.written.push(f.path);
    }
  }
  return r;
}
