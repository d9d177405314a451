// Bundles the guest entry into one ESM file: starting tsx inside a TCG guest costs seconds, plain JS does not.
import { build } from 'esbuild';
import { join } from 'node:path';
import { guestBundleDir, projectRoot } from './paths.js';

export async function bundleGuestEntry(): Promise<string> {
  const outfile = join(guestBundleDir, 'entry.mjs');
  await build({
    entryPoints: [join(projectRoot, 'test', 'kernel', 'guest', 'entry.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // koffi is native: it stays a bare import and resolves from the project's node_modules (an ancestor of build/).
    external: ['koffi'],
    logLevel: 'warning',
  });
  return outfile;
}
