import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Ir } from '../ir/types.js';
import { MODULE_EXT } from '../paths.js';

/** One generated file: its path under the repo root and its exact bytes. */
export interface GeneratedFile {
  path: string;
  content: string;
}

/** An emitter turns the IR into files. */
export type Emitter = (ir: Ir) => GeneratedFile[] | Promise<GeneratedFile[]>;

const here = new URL('.', import.meta.url).pathname;

/**
 * Every emitter: each folder under generator/emit/ holds one output kind and an `emit.ts` whose
 * `emit` export produces its files. Discovered by folder name, in sorted order, so adding an output
 * kind touches no shared file.
 */
export async function emitters(): Promise<Emitter[]> {
  const list: Emitter[] = [];
  for (const dir of readdirSync(here, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()) {
    const file = join(here, dir, `emit${MODULE_EXT}`);
    if (!existsSync(file)) continue;
    const mod = (await import(file)) as { emit?: Emitter };
    if (typeof mod.emit !== 'function') throw new Error(`generator/emit/${dir}/emit.ts has no \`emit\` export`);
    list.push(mod.emit);
  }
  return list;
}
