import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheRoot } from './paths.js';

/**
 * A content-addressed cache (build/cache/ of the project, git-ignored; see paths.ts) for pure, slow steps of the generator:
 * reading doc comments with ts-morph (≈0.7 s just to load TypeScript), rendering Graphviz SVGs and
 * compiling Handlebars templates to JavaScript. The key is a hash of everything the result depends on,
 * so a changed input is always recomputed and a stale entry can never be served.
 * `VFIO_UAPI_NO_CACHE=1` turns it off.
 */
let root: string | undefined;
const dir = () => (root ??= cacheRoot());

export function cacheKey(...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(String(p.length)).update(':').update(p);
  return h.digest('hex');
}

const off = () => Boolean(process.env.VFIO_UAPI_NO_CACHE);

function read<T>(kind: string, key: string): { value: T } | undefined {
  try {
    return { value: JSON.parse(readFileSync(join(dir(), kind, `${key}.json`), 'utf8')) as T };
  } catch {
    return undefined; // missing or unreadable: compute it
  }
}

function write(kind: string, key: string, value: unknown): void {
  try {
    mkdirSync(join(dir(), kind), { recursive: true });
    const file = join(dir(), kind, `${key}.json`);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(value));
    renameSync(tmp, file); // atomic, so a concurrent reader never sees half a file
  } catch {
    // a read-only checkout still works, only slower
  }
}

export async function cached<T>(kind: string, key: string, compute: () => T | Promise<T>): Promise<T> {
  if (off()) return compute();
  const hit = read<T>(kind, key);
  if (hit) return hit.value;
  const value = await compute();
  write(kind, key, value);
  return value;
}

/** `cached` for a synchronous step. */
export function cachedSync<T>(kind: string, key: string, compute: () => T): T {
  if (off()) return compute();
  const hit = read<T>(kind, key);
  if (hit) return hit.value;
  const value = compute();
  write(kind, key, value);
  return value;
}
