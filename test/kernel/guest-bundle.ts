// What the guest runs: the compiled package (packages/vfio-uapi/dist), exactly what a user installs, bundled into
// build/kernel-guest/ so that each node process inside a TCG guest loads one file instead of dozens of modules
// (module loading is most of a short command's time there):
//   vfio-uapi.mjs    the `vfio-uapi` command: the package's cli/main.js with its device commands
//   entry.mjs        the guest's own checks, which call the runtime
//   load-cases.mjs   issue 12's load fault matrix, loaded by the checks at run time
// The checks and the command import the runtime by its source path (so they typecheck against the sources); the
// bundler takes the compiled module of the package instead, and fails if any source file, generator code or
// tools package would end up inside. koffi stays outside (native; it resolves from the project's node_modules,
// an ancestor of build/). Modules that find files beside themselves (import.meta.url: the known-failure lists,
// spec-data.json, the forbidden-call worker, the stream and emulator workers) keep finding them in dist/: each
// bundled module's import.meta.url is the URL of its compiled file, so worker entry points stay their own files.
import { build, type Metafile, type Plugin } from 'esbuild';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { run } from './exec.js';
import { guestBundleDir, projectRoot } from './paths.js';

const guestSources = join(projectRoot, 'test', 'kernel', 'guest');
export const packageDist = join(projectRoot, 'packages', 'vfio-uapi', 'dist');

const compiledFolders = ['runtime', 'generated', 'cli'];

/** A relative import of a runtime/generated/cli source becomes the compiled module of the package, bundled. */
const useCompiledPackage: Plugin = {
  name: 'use-compiled-package',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      const target = relative(projectRoot, resolve(args.resolveDir, args.path));
      if (!compiledFolders.some((folder) => target.startsWith(`${folder}/`))) return undefined;
      const compiled = join(packageDist, target.replace(/\.ts$/, '.js'));
      if (!existsSync(compiled)) return { errors: [{ text: `${compiled} is not built (npm run build)` }] };
      return { path: compiled };
    });
    // Inside the bundle, a compiled module's import.meta.url still names its own file in dist/.
    b.onLoad({ filter: /\.js$/ }, (args) => {
      if (!args.path.startsWith(`${packageDist}/`)) return undefined;
      const source = readFileSync(args.path, 'utf8');
      const url = JSON.stringify(pathToFileURL(args.path).href);
      return { contents: source.replaceAll('import.meta.url', url), loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

/**
 * Inputs a guest bundle must not hold: the TypeScript sources of the package (the guest runs the compiled
 * code), the generator and the tools package (the runtime never needs them: `conform --spec` asks for the
 * tools package at run time) and the generator's libraries.
 */
export const forbiddenInputs =
  /^(runtime|generated|cli|generator|spec)\/|^packages\/vfio-uapi-tools\/|(^|\/)node_modules\/(ts-morph|@ts-morph|handlebars|@viz-js|vfio-uapi-tools)\//;

/** The inputs of a bundle that break the rule above (empty when it holds). */
export function leakedInputs(metafile: Metafile): string[] {
  return Object.keys(metafile.inputs).filter((input) => forbiddenInputs.test(input));
}

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

export interface GuestBundle {
  /** build/kernel-guest/entry.mjs: what the guest's /init runs. */
  entry: string;
  /** build/kernel-guest/vfio-uapi.mjs: the command the checks run as its own process. */
  cli: string;
  metafile: Metafile;
}

/** Bundles the guest's checks and command into `outdir` (build/kernel-guest/ by default). */
export async function bundleGuest(
  outdir = guestBundleDir,
  log: (line: string) => void = () => {},
): Promise<GuestBundle> {
  ensurePackageBuilt(log);
  // The load fault matrix (issue 12) is loaded by the guest at run time when this checkout has it.
  const loadCases = join(projectRoot, 'test', 'fault-matrix', 'load-cases.ts');
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    entryPoints: {
      entry: join(guestSources, 'entry.ts'),
      'vfio-uapi': join(guestSources, 'vfio-uapi.ts'),
      ...(existsSync(loadCases) ? { 'load-cases': loadCases } : {}),
    },
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['koffi', 'vfio-uapi-tools'],
    plugins: [useCompiledPackage],
    metafile: true,
    logLevel: 'warning',
  });
  const leaked = leakedInputs(result.metafile);
  if (leaked.length) throw new Error(`the guest bundle holds what it must not: ${leaked.slice(0, 5).join(', ')}`);
  return { entry: join(outdir, 'entry.mjs'), cli: join(outdir, 'vfio-uapi.mjs'), metafile: result.metafile };
}

/** Bundles what the guest runs and answers the path of entry.mjs. */
export async function bundleGuestEntry(log: (line: string) => void = () => {}): Promise<string> {
  return (await bundleGuest(guestBundleDir, log)).entry;
}
