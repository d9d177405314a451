// Builds the kernel's mtty sample as an out-of-tree module against the unpacked 6.12 headers.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './exec.js';
import { cacheRoot } from './paths.js';
import type { RouteAFiles } from './fetch.js';

export function buildMtty(files: RouteAFiles): string {
  const moduleDir = join(cacheRoot, `mtty-build-${files.release}`);
  const built = join(moduleDir, 'mtty.ko');
  if (existsSync(built)) return built;

  // The packaged Makefile includes the -common tree by its installed absolute path; point it at our copy.
  const makefile = join(files.headersDir, 'Makefile');
  const original = readFileSync(makefile, 'utf8');
  const rewritten = original.replace(/\/usr\/src\/(linux-headers-[^/\s]+-common)/g, (_, name: string) =>
    join(files.root, 'usr', 'src', name),
  );
  if (rewritten !== original) writeFileSync(makefile, rewritten);

  mkdirSync(moduleDir, { recursive: true });
  copyFileSync(files.mttySource, join(moduleDir, 'mtty.c'));
  writeFileSync(join(moduleDir, 'Makefile'), 'obj-m := mtty.o\n');
  // BTF for modules needs pahole, which the kernel does not require to load the module.
  run('make', ['-C', files.headersDir, `M=${moduleDir}`, 'CONFIG_DEBUG_INFO_BTF_MODULES=', 'modules'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (!existsSync(built)) throw new Error(`mtty build produced no ${built}`);
  return built;
}
