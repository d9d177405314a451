import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The packages npm put under `dir`/node_modules (scoped ones as @scope/name), sorted. */
export function installedPackages(dir: string): string[] {
  const top = join(dir, 'node_modules');
  const out: string[] = [];
  for (const name of readdirSync(top)) {
    if (name.startsWith('.')) continue;
    if (name.startsWith('@')) for (const sub of readdirSync(join(top, name))) out.push(`${name}/${sub}`);
    else out.push(name);
  }
  return out.sort();
}

/** Bytes of every file under `dir`/node_modules (what the packages hold; folders and npm's own lock file aside). */
export function installedBytes(dir: string): number {
  const walk = (p: string): number => {
    const st = lstatSync(p);
    if (st.isDirectory()) return readdirSync(p).reduce((n, e) => n + walk(join(p, e)), 0);
    return st.isFile() ? st.size : 0;
  };
  const top = join(dir, 'node_modules');
  return readdirSync(top)
    .filter((e) => !e.startsWith('.'))
    .reduce((n, e) => n + walk(join(top, e)), 0);
}
