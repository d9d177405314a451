// Finds kernel modules in an unpacked image package and orders them by their `depends=` modinfo field
// (the .deb ships no modules.dep).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

export interface KernelModule {
  name: string;
  /** Uncompressed .ko contents. */
  contents: Buffer;
}

const canonical = (name: string) => name.replace(/-/g, '_');

function indexModules(dir: string, index = new Map<string, string>()): Map<string, string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) indexModules(path, index);
    else if (/\.ko(\.xz)?$/.test(entry.name)) index.set(canonical(entry.name.replace(/\.ko(\.xz)?$/, '')), path);
  }
  return index;
}

function loadModule(path: string): Buffer {
  if (!path.endsWith('.xz')) return readFileSync(path);
  const result = spawnSync('xz', ['-dc', path], { maxBuffer: 256 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`xz -dc ${path}: ${result.stderr}`);
  return result.stdout;
}

function dependsOf(contents: Buffer): string[] {
  const at = contents.indexOf('\0depends=');
  if (at < 0) return [];
  const value = contents.subarray(at + 9, contents.indexOf(0, at + 9)).toString();
  return value ? value.split(',').map(canonical) : [];
}

/** `wanted` plus everything they depend on, dependencies first. Modules built into the kernel are skipped. */
export function modulesInLoadOrder(
  modulesDir: string,
  wanted: readonly string[],
  extra: ReadonlyMap<string, string> = new Map(),
): KernelModule[] {
  const index = indexModules(join(modulesDir, 'kernel'));
  for (const [name, path] of extra) index.set(canonical(name), path);
  const builtinFile = join(modulesDir, 'modules.builtin');
  const builtin = new Set(
    existsSync(builtinFile)
      ? readFileSync(builtinFile, 'utf8')
          .split('\n')
          .map((line) => canonical(line.replace(/^.*\//, '').replace(/\.ko$/, '')))
      : [],
  );
  const ordered: KernelModule[] = [];
  const visited = new Set<string>();
  const visit = (raw: string): void => {
    const name = canonical(raw);
    if (visited.has(name)) return;
    visited.add(name);
    const path = index.get(name);
    if (!path) {
      if (builtin.has(name)) return;
      throw new Error(`module ${name} not found under ${modulesDir}`);
    }
    const contents = loadModule(path);
    for (const dependency of dependsOf(contents)) visit(dependency);
    ordered.push({ name, contents });
  };
  for (const name of wanted) visit(name);
  return ordered;
}
