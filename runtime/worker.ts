import { createRequire } from 'node:module';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Start a worker thread on the module `name` (without extension) that sits beside the module `from`
 * (its import.meta.url). Compiled, that is the `.js` file next to it. From the TypeScript sources (vitest,
 * tsx) the worker registers tsx itself before importing the `.ts` file, so the sources run unbuilt in tests.
 */
export function startSiblingWorker(from: string, name: string, options: WorkerOptions, label: string): Worker {
  if (!from.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, from), options);
  // require.resolve picks the CommonJS build of tsx's API; the ESM build sits beside it (see its exports map).
  const tsxApi = createRequire(from)
    .resolve('tsx/esm/api')
    .replace(/\.cjs$/, '.mjs');
  const entry = new URL(`./${name}.ts`, from).href;
  const bootstrap = `
    const { pathToFileURL } = require('node:url');
    import(pathToFileURL(${JSON.stringify(tsxApi)}).href)
      .then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })
      .catch((e) => { process.stderr.write(${JSON.stringify(`${label} failed to start: `)} + (e && e.stack || e) + '\\n'); process.exit(1); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/** The module `name` beside `from`, with the extension this build runs (.js compiled, .ts from sources). */
export function siblingModule(from: string, name: string): URL {
  return new URL(`./${name}${from.endsWith('.ts') ? '.ts' : '.js'}`, from);
}
