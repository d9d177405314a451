import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Open fds of this process (minus the one readdir itself uses). */
export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

export function tempDir(): { dir: string; file(name: string): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'vfio-uapi-test-'));
  return { dir, file: (n) => join(dir, n), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
