// Bundles what the guest runs into build/kernel-guest/: entry.mjs (the checks, which use the runtime) and
// vfio-uapi.mjs (the command line). Starting tsx inside a TCG guest costs seconds; plain JS does not.
import { build, type Plugin } from 'esbuild';
import { existsSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { guestBundleDir, projectRoot } from './paths.js';

const guestSources = join(projectRoot, 'test', 'kernel', 'guest');

// The runtime must not need the generator (ts-morph, handlebars). The one way in is `conform --spec MODULE`,
// which loads another spec at run time; in the guest that option answers with this error instead.
const generatorLeftOut: Plugin = {
  name: 'generator-left-out',
  setup(b) {
    b.onResolve({ filter: /\/generator\// }, (args) =>
      args.importer.includes('/cli/commands/') ? { path: args.path, namespace: 'generator-left-out' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'generator-left-out' }, () => ({
      contents: 'throw new Error("the guest bundle leaves the generator out: --spec is not available here");',
      loader: 'js',
    }));
  },
};
// The stub's own name is no leak; a real file under generator/ or those packages is.
const forbiddenInputs = /^(generator\/|node_modules\/(ts-morph|@ts-morph|handlebars)\/)/;

/** Builds both bundles and answers the path of entry.mjs. */
export async function bundleGuestEntry(): Promise<string> {
  // The load fault matrix (issue 12) is loaded by the guest at run time when this checkout has it.
  const loadCases = join(projectRoot, 'test', 'fault-matrix', 'load-cases.ts');
  rmSync(join(guestBundleDir, 'load-cases.mjs'), { force: true });
  const result = await build({
    entryPoints: {
      entry: join(guestSources, 'entry.ts'),
      'vfio-uapi': join(guestSources, 'vfio-uapi.ts'),
      ...(existsSync(loadCases) ? { 'load-cases': loadCases } : {}),
    },
    outdir: guestBundleDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // koffi is native: it stays a bare import and resolves from the project's node_modules (an ancestor of build/).
    // vfio-uapi-tools (the generator, for `conform --spec`) is not for the guest: it stays an import never taken.
    external: ['koffi', 'vfio-uapi-tools'],
    plugins: [generatorLeftOut],
    metafile: true,
    logLevel: 'warning',
  });
  const leaked = Object.keys(result.metafile.inputs).filter((input) => forbiddenInputs.test(input));
  if (leaked.length) throw new Error(`the guest bundle pulls in the generator: ${leaked.slice(0, 5).join(', ')}`);
  // The conformance suite finds its known-failure lists and its forbidden-call worker next to its own code,
  // which in the bundle is build/kernel-guest/: link them there. (generated/ir.json it finds two levels up,
  // which holds for the bundle too.)
  const besideConformance = join(projectRoot, 'runtime', 'conformance');
  for (const name of ['known-failures', 'forbidden-call-worker.mjs']) {
    const link = join(guestBundleDir, name);
    rmSync(link, { force: true, recursive: true });
    symlinkSync(join(besideConformance, name), link);
  }
  return join(guestBundleDir, 'entry.mjs');
}
