import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** '.ts' when the generator runs from its sources (vitest, tsx), '.js' when it runs compiled. */
export const MODULE_EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/**
 * The project the generator reads the spec from and writes generated/ into: the nearest folder above this
 * module that holds spec/vfio/index.ts. From the sources that is the repository; from the compiled
 * packages/vfio-uapi-tools/dist/ in a checkout it is the repository too; in an installed vfio-uapi-tools
 * package it is the package itself (it ships spec/ and generated/).
 */
export const PROJECT_ROOT = findProjectRoot(dirname(fileURLToPath(import.meta.url)));

function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'spec', 'vfio', 'index.ts'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no spec/vfio/index.ts in any folder above ${from}`);
  }
}

/**
 * Where the generator may keep content-addressed results: build/cache/ of the project when it can be
 * written, otherwise (a read-only or global install) the user's cache folder.
 */
export function cacheRoot(): string {
  const inProject = join(PROJECT_ROOT, 'build', 'cache');
  if (writable(inProject)) return inProject;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'vfio-uapi', 'generator');
}

function writable(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
