import { readFileSync, readdirSync } from 'node:fs';
import { cached, cacheKey } from '../cache.js';
import { dirname, join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../paths.js';
import { importModule } from './import-module.js';
import { buildIr } from './build.js';
import type { DeclDocs } from './docs.js';
import type { Ir } from './types.js';

/** The project whose spec/ and generated/ the generator works on (see paths.ts). */
export const REPO_ROOT = PROJECT_ROOT;

/** The default spec module. */
export const DEFAULT_SPEC = join(REPO_ROOT, 'spec', 'vfio', 'index.ts');

export interface LoadOptions {
  /** Read doc comments with ts-morph (default true; tests of layout alone may skip it). */
  docs?: boolean;
  /** Root that site paths are made relative to. */
  root?: string;
}

/** The .ts files next to a spec module (what ts-morph reads for docs). */
export function specFilesOf(modulePath: string): string[] {
  const dir = dirname(modulePath);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => join(dir, f))
    .sort();
}

/** Import a spec module, read its doc comments, and build the IR. */
export async function loadSpec(modulePath: string = DEFAULT_SPEC, opts: LoadOptions = {}): Promise<Ir> {
  const abs = resolve(modulePath);
  return irFromExports(await importModule(abs), opts);
}

/** Build the IR from already-imported spec exports (docs are read from the files the items came from). */
export async function irFromExports(exports: Record<string, unknown>, opts: LoadOptions = {}): Promise<Ir> {
  let lookup: (file: string, name: string) => DeclDocs | undefined = () => undefined;
  if (opts.docs !== false) {
    const files = new Set<string>();
    for (const v of Object.values(exports)) {
      const f = (v as { site?: { file?: string } } | null)?.site?.file;
      if (f && f.startsWith('/')) files.add(f);
    }
    const sorted = [...files].sort();
    // ts-morph costs ≈0.7 s to load; its answer depends only on the files' text, so it is cached by that.
    const key = cacheKey('docs-v1', ...sorted.flatMap((f) => [f, readFileSync(f, 'utf8')]));
    const docs = await cached('docs', key, async () => {
      const { readDocs } = await import('./docs.js');
      return [...readDocs(sorted)].map(([f, m]) => [f, [...m]] as const);
    });
    const byFile = new Map(docs.map(([f, entries]) => [f, new Map(entries)]));
    lookup = (file, name) => byFile.get(file)?.get(name);
  }
  return buildIr(exports, opts.root ?? REPO_ROOT, lookup);
}
