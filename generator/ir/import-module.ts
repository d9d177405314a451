import { register } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cacheRoot, MODULE_EXT } from '../paths.js';

let hooksRegistered = false;

/**
 * Import a spec module (or an overlay, or any module a command is handed) by path. Compiled, the generator
 * imports .ts through its own transpiling hooks (ts-hooks.ts); from sources, vitest or tsx already can.
 */
export async function importModule(path: string): Promise<Record<string, unknown>> {
  if (path.endsWith('.ts') && MODULE_EXT === '.js') registerTsHooks();
  try {
    return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new ModuleLoadError(path, error as Error);
  }
}

/** A module that could not be imported: its path and the first line of the reason. */
export class ModuleLoadError extends Error {
  constructor(
    readonly path: string,
    cause: Error,
  ) {
    const reason = String(cause?.message ?? cause).split('\n')[0]!;
    // A syntax error already starts with the file:line:column it is about.
    super(reason.startsWith(path) ? `cannot load ${reason}` : `cannot load ${path}: ${reason}`, { cause });
    this.name = 'ModuleLoadError';
  }
}

function registerTsHooks(): void {
  if (hooksRegistered) return;
  hooksRegistered = true;
  // Spec builders record where each item was declared from the stack; source maps make those .ts lines.
  process.setSourceMapsEnabled(true);
  register(new URL('./ts-hooks.js', import.meta.url), { data: { cacheDir: join(cacheRoot(), 'ts') } });
}
