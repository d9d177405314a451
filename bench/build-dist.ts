/**
 * Prebuilt JavaScript of the runtime's device commands (info, save, load, migrate) and of the threads they
 * start, into build/dist/ (git-ignored), so they run without tsx: tsx in the main thread and again in the
 * emulator's supervisor worker is most of the ~120 MiB RSS a save costs from the TypeScript sources.
 *
 *   node --import tsx bench/build-dist.ts      (npm run build)
 *   node build/dist/vfio-uapi.mjs save emulated:mlx5 out.vfio --size 1GiB
 *
 * koffi (a native addon) and the generator's heavy packages stay external, resolved from node_modules.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}build/dist`;
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });

// The device commands only: cli/main.ts finds commands by listing its folder, which a bundle cannot do.
const entry = `
import info from './cli/commands/info.ts';
import save from './cli/commands/save.ts';
import load from './cli/commands/load.ts';
import migrate from './cli/commands/migrate.ts';
const commands = { info, save, load, migrate };
const [name, ...rest] = process.argv.slice(2);
const command = commands[name];
if (!command) {
  console.error(\`vfio-uapi (prebuilt): commands are \${Object.keys(commands).join(', ')}; bin/vfio-uapi.js has them all\`);
  process.exitCode = 2;
} else if (rest.includes('--help') || rest.includes('-h')) {
  console.log(\`usage: \${command.usage}\\n\\n\${command.summary}\`);
} else {
  process.exitCode = await command.run(rest);
}
`;

const common = {
  bundle: true,
  platform: 'node' as const,
  format: 'esm' as const,
  target: 'node20',
  outExtension: { '.js': '.mjs' },
  external: ['koffi', 'tsx', 'tsx/*', 'ts-morph', 'handlebars', '@viz-js/viz'],
  // Bundled CommonJS helpers may call require(); give ESM output one.
  banner: {
    js: "import { createRequire as __vfioCreateRequire } from 'node:module'; const require = __vfioCreateRequire(import.meta.url);",
  },
  logLevel: 'warning' as const,
};

await build({
  ...common,
  stdin: { contents: entry, resolveDir: root, sourcefile: 'vfio-uapi-dist-entry.ts', loader: 'ts' },
  outfile: `${outdir}/vfio-uapi.mjs`,
});
await build({
  ...common,
  entryPoints: {
    'supervisor-worker': `${root}runtime/emulator/seccomp/supervisor-worker.ts`,
    'device-handler': `${root}runtime/emulator/device-handler.ts`,
    'stream-worker': `${root}runtime/stream/stream-worker.ts`,
  },
  outdir,
});
console.log(
  `built ${outdir}: vfio-uapi.mjs (info, save, load, migrate), supervisor-worker.mjs, device-handler.mjs, stream-worker.mjs`,
);
