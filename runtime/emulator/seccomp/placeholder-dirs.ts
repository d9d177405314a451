/**
 * The emulator's placeholder folders in the temporary directory: `vfio-emulator-PID-XXXXXX`, one per
 * attached handler, removed when it detaches and at process exit (supervisor.ts). A process killed
 * outright (SIGKILL) cannot remove its own; the next emulator to start removes every folder whose process
 * is gone. Folders named before the PID was part of the name (`vfio-emulator-XXXXXX`) are removed once they
 * are a day old, as no emulator runs that long from an older checkout.
 */
import { lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processAlive } from '../../sys/process.js';

const PREFIX = 'vfio-emulator-';
const LEGACY_MAX_AGE_MS = 24 * 3600 * 1000;

/** Remove placeholder folders left by processes that no longer exist; returns how many were removed. */
export function sweepStalePlaceholderDirs(dir = tmpdir()): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  const uid = process.getuid?.();
  for (const name of names) {
    if (!name.startsWith(PREFIX)) continue;
    const path = join(dir, name);
    try {
      const st = lstatSync(path);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
      const pid = /^(\d+)-/.exec(name.slice(PREFIX.length))?.[1];
      const stale = pid
        ? Number(pid) !== process.pid && !processAlive(Number(pid))
        : Date.now() - st.mtimeMs > LEGACY_MAX_AGE_MS;
      if (!stale) continue;
      rmSync(path, { recursive: true, force: true });
      removed++;
    } catch {
      /* gone meanwhile, or not ours */
    }
  }
  return removed;
}

/** A new placeholder folder for this process. */
export function makePlaceholderDir(dir = tmpdir()): string {
  return mkdtempSync(join(dir, `${PREFIX}${process.pid}-`));
}
