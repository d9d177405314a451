// What the guest runs: the compiled package (packages/vfio-uapi/dist, its `vfio-uapi` command at
// packages/vfio-uapi/bin/vfio-uapi.js), exactly what a user installs, plus the guest's own checks bundled into
// build/kernel-guest/entry.mjs. The checks import the runtime by its source path (so they typecheck against the
// sources); the bundle maps each such import to the compiled module of the package instead of copying the
// source in, and fails if any runtime, generated, CLI or generator source would end up inside it.
// Starting tsx inside a TCG guest costs seconds; plain JavaScript does not.
import { build, type Plugin } from 'esbuild';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { run } from './exec.js';
import { guestBundleDir, projectRoot } from './paths.js';

const guestSources = join(projectRoot, 'test', 'kernel', 'guest');
export const packageDist = join(projectRoot, 'packages', 'vfio-uapi', 'dist');
/** The command the guest runs, as installed: compiled JavaScript, no TypeScript loader. */
export const packageBin = join(projectRoot, 'packages', 'vfio-uapi', 'bin', 'vfio-uapi.js');

const compiledFolders = ['runtime', 'generated', 'cli'];

/** A relative import of a runtime/generated/cli source becomes the compiled module beside it in dist/. */
const useCompiledPackage: Plugin = {
  name: 'use-compiled-package',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      const target = relative(projectRoot, resolve(args.resolveDir, args.path));
      if (!compiledFolders.some((folder) => target.startsWith(`${folder}/`))) return undefined;
      const compiled = join(packageDist, target.replace(/\.ts$/, '.js'));
      if (!existsSync(compiled)) return { errors: [{ text: `${compiled} is not built (npm run build)` }] };
      return { path: compiled, external: true };
    });
  },
};
const forbiddenInputs = /^(runtime|generated|cli|generator)\/|^node_modules\/(ts-morph|@ts-morph|handlebars)\//;

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (/\.(ts|txt|mjs|json)$/.test(entry.name)) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds the packages when a source is newer than the compiled command (a warm run pays nothing). */
export function ensurePackageBuilt(log: (line: string) => void): void {
  const stamp = join(packageDist, 'cli', 'main.js');
  const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
  const newest = Math.max(...compiledFolders.map((f) => newestSource(join(projectRoot, f))));
  if (built >= newest) return;
  log('building the packages (npm run build): a source is newer than packages/vfio-uapi/dist');
  run(process.execPath, [join(projectRoot, 'packages', 'build.mjs')], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Bundles the guest's checks and answers the path of entry.mjs. */
export async function bundleGuestEntry(log: (line: string) => void = () => {}): Promise<string> {
  ensurePackageBuilt(log);
  // The load fault matrix (issue 12) is loaded by the guest at run time when this checkout has it.
  const loadCases = join(projectRoot, 'test', 'fault-matrix', 'load-cases.ts');
  rmSync(guestBundleDir, { recursive: true, force: true });
  const result = await build({
    entryPoints: {
      entry: join(guestSources, 'entry.ts'),
      ...(existsSync(loadCases) ? { 'load-cases': loadCases } : {}),
    },
    outdir: guestBundleDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // koffi is native: it stays a bare import and resolves from the project's node_modules (an ancestor of build/).
    external: ['koffi'],
    plugins: [useCompiledPackage],
    metafile: true,
    logLevel: 'warning',
  });
  const leaked = Object.keys(result.metafile.inputs).filter((input) => forbiddenInputs.test(input));
  if (leaked.length) throw new Error(`the guest bundle copies sources in: ${leaked.slice(0, 5).join(', ')}`);
  return join(guestBundleDir, 'entry.mjs');
}
