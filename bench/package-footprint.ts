/**
 * What a runtime consumer pays: the installed footprint of `npm install vfio-uapi` (production
 * dependencies, koffi included; goal ≤ 5 MB) and the cold start of the installed `vfio-uapi info
 * emulated:mtty` beside `node -e 0` (goal ≤ 0.3 s on a quiet machine, ≤ 5× node's floor), interleaved
 * in one run so a noisy machine slows both alike, and how many modules that command loads (each one is
 * resolved, read and compiled on every start: on a slow machine that is most of the start).
 *
 *   npm run bench:package [-- --rounds 9] [-- --no-build]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installedBytes, installedPackages } from '../test/package/installed.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const arg = (n: string, d: string) => (process.argv.includes(n) ? process.argv[process.argv.indexOf(n) + 1]! : d);
const rounds = Number(arg('--rounds', '9'));

const pack = spawnSync(
  process.execPath,
  [join(root, 'packages', 'pack.mjs'), ...(process.argv.includes('--no-build') ? ['--no-build'] : [])],
  { encoding: 'utf8' },
);
if (pack.status !== 0) throw new Error(`pack failed: ${pack.stderr}`);
const runtimeTgz = pack.stdout.trim().split('\n').at(-2)!;

const app = mkdtempSync(join(tmpdir(), 'vfio-uapi-bench-'));
try {
  writeFileSync(join(app, 'package.json'), '{"name":"bench-consumer","private":true}');
  const install = spawnSync(
    'npm',
    ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', runtimeTgz],
    { cwd: app, encoding: 'utf8' },
  );
  if (install.status !== 0) throw new Error(`npm install failed: ${install.stderr}`);
  const bytes = installedBytes(app);
  const packages = installedPackages(app);

  const cli = join(app, 'node_modules', '.bin', 'vfio-uapi');
  const wall = (cmd: string, args: string[]) => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { cwd: app, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  const node: number[] = [];
  const info: number[] = [];
  wall(cli, ['info', 'emulated:mtty']); // the first run only warms the page cache
  for (let i = 0; i < rounds; i++) {
    node.push(wall(process.execPath, ['-e', '0']));
    info.push(wall(cli, ['info', 'emulated:mtty']));
  }
  // The modules the command loads on its main thread, counted by a module loader hook (a file:// URL each).
  writeFileSync(
    join(app, 'count-hooks.mjs'),
    "import { appendFileSync } from 'node:fs';\n" +
      'export async function load(url, context, next) {\n' +
      "  if (url.startsWith('file:')) appendFileSync(process.env.MODULES_FILE, url + '\\n');\n" +
      '  return next(url, context);\n}\n',
  );
  writeFileSync(
    join(app, 'count.mjs'),
    "import { register } from 'node:module';\nregister('./count-hooks.mjs', import.meta.url);\n",
  );
  const modulesFile = join(app, 'modules.txt');
  const counted = spawnSync(
    process.execPath,
    ['--import', './count.mjs', join(app, 'node_modules', 'vfio-uapi', 'bin', 'vfio-uapi.js'), 'info', 'emulated:mtty'],
    { cwd: app, encoding: 'utf8', env: { ...process.env, MODULES_FILE: modulesFile } },
  );
  if (counted.status !== 0) throw new Error(`counting modules failed: ${counted.stderr}`);
  const modules = readFileSync(modulesFile, 'utf8').trim().split('\n');
  const ofPackage = modules.filter((m) => m.includes('/node_modules/vfio-uapi/')).length;

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const n = median(node);
  const v = median(info);
  console.log(`installed footprint (npm install vfio-uapi, production): ${(bytes / 1e6).toFixed(2)} MB`);
  console.log(`  packages: ${packages.join(', ')} (goal ≤ 5 MB, koffi included)`);
  console.log(`cold start, median of ${rounds} interleaved runs:`);
  console.log(`  node -e 0                         ${n.toFixed(3)} s`);
  console.log(`  vfio-uapi info emulated:mtty      ${v.toFixed(3)} s  (goal ≤ 0.3 s)`);
  console.log(`  ratio to node's floor             ${(v / n).toFixed(2)}×  (goal ≤ 5×)`);
  console.log(
    `modules loaded by vfio-uapi info emulated:mtty (main thread): ${modules.length} ` +
      `(${ofPackage} of vfio-uapi, ${modules.length - ofPackage} of its dependencies)`,
  );
} finally {
  rmSync(app, { recursive: true, force: true });
}
