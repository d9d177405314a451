/**
 * The packages as a user gets them: pack both, install the tarballs into scratch projects outside the
 * repository (production dependencies only), and use them from there — plain ESM, CommonJS `require`, a
 * strict TypeScript consumer compiling the README's embedding snippet against the shipped .d.ts, the
 * installed `vfio-uapi` command, the tools package — then publint and arethetypeswrong on the tarballs.
 *
 *   npm run test:package            (builds first; `npm test` runs it after its own build with --no-build)
 *   VFIO_UAPI_KEEP_CONSUMER=1       keeps the scratch projects and prints where they are
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installedPackages, installedBytes } from './installed.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const bin = (dir: string) => join(dir, 'node_modules', '.bin');
const results: { name: string; ok: boolean; detail: string }[] = [];
const scratch: string[] = [];

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 180_000 });
}
const said = (r: SpawnSyncReturns<string>) =>
  `exit ${r.status}${r.signal ? ` (${r.signal})` : ''}: ${(r.stderr || r.stdout || '').trim().split('\n').slice(-3).join(' | ')}`;

function check(name: string, ok: boolean, detail = ''): void {
  results.push({ name, ok, detail });
  console.log(`${ok ? 'ok' : 'not ok'} - ${name}${detail ? ` — ${detail}` : ''}`);
}

function project(name: string, packageJson: object): string {
  const dir = mkdtempSync(join(tmpdir(), `vfio-uapi-${name}-`));
  scratch.push(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `scratch-${name}`, private: true, ...packageJson }));
  return dir;
}

function npmInstall(dir: string, args: string[]): boolean {
  const r = run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...args], dir);
  if (r.status !== 0) check(`npm install ${args.join(' ')}`, false, said(r));
  return r.status === 0;
}

/** The README's embedding snippet, exactly as a reader copies it. */
function readmeSnippet(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const m = /### Embedding\s+```ts\n([\s\S]*?)```/.exec(readme);
  if (!m) throw new Error('README.md has no ```ts block under "### Embedding"');
  return m[1]!;
}

// --- pack -------------------------------------------------------------------------------------------
const packArgs = process.argv.includes('--no-build') ? ['--no-build'] : [];
const packed = run(process.execPath, [join(root, 'packages', 'pack.mjs'), ...packArgs], root);
if (packed.status !== 0) {
  check('build and pack both packages', false, said(packed));
  finish();
}
const [runtimeTgz, toolsTgz] = packed.stdout.trim().split('\n').slice(-2) as [string, string];
check('build and pack both packages', true, `${runtimeTgz.split('/').pop()}, ${toolsTgz.split('/').pop()}`);

// --- a runtime consumer: vfio-uapi alone, production dependencies only ------------------------------
const app = project('consumer', {});
if (npmInstall(app, ['--omit=dev', runtimeTgz])) {
  const pkgs = installedPackages(app);
  const unexpected = pkgs.filter((p) => p !== 'vfio-uapi' && p !== 'koffi' && !p.startsWith('@koromix/koffi-'));
  check('a runtime consumer installs vfio-uapi and koffi, nothing else', unexpected.length === 0, pkgs.join(', '));
  console.log(`# installed footprint: ${(installedBytes(app) / 1e6).toFixed(2)} MB in ${pkgs.length} packages`);

  const migrateBody = `const [src, dst] = await openDevices(['emulated:hisi-acc', 'emulated:hisi-acc']);
  const r = await migrate(src, dst);
  console.log(JSON.stringify({ equal: r.verification.equal, bytes: r.totalBytes }));
  await src.close();
  await dst.close();`;
  writeFileSync(join(app, 'migrate.mjs'), `import { openDevices, migrate } from 'vfio-uapi';\n${migrateBody}\n`);
  const esm = run(process.execPath, ['migrate.mjs'], app);
  check(
    'plain Node ESM: import from vfio-uapi migrates two emulated devices',
    esm.status === 0 && /"equal":true/.test(esm.stdout),
    said(esm),
  );

  writeFileSync(
    join(app, 'migrate.cjs'),
    `const { openDevices, migrate } = require('vfio-uapi');\n(async () => {\n  ${migrateBody}\n})();\n`,
  );
  const cjs = run(process.execPath, ['migrate.cjs'], app);
  check(
    'CommonJS: require(vfio-uapi) migrates two emulated devices',
    cjs.status === 0 && /"equal":true/.test(cjs.stdout),
    said(cjs),
  );

  const cli = join(bin(app), 'vfio-uapi');
  const info = run(cli, ['info', 'emulated:mtty', '--json'], app);
  check('installed bin: vfio-uapi info', info.status === 0 && /"migration"/.test(info.stdout), said(info));
  const save = run(cli, ['save', 'emulated:mtty', 'state.vfio', '--quiet'], app);
  check('installed bin: vfio-uapi save', save.status === 0, said(save));
  const load = run(cli, ['load', 'emulated:mtty', 'state.vfio', '--quiet'], app);
  check('installed bin: vfio-uapi load', load.status === 0, said(load));
  const gen = run(cli, ['gen', '--check'], app);
  check(
    'without vfio-uapi-tools, a tool command says how to get it (exit 2, one line)',
    gen.status === 2 &&
      gen.stderr.trim().split('\n').length === 1 &&
      /npm install --save-dev vfio-uapi-tools/.test(gen.stderr),
    said(gen),
  );

  // --- a strict TypeScript consumer, against the shipped .d.ts ----------------------------------------
  if (npmInstall(app, ['--save-dev', '@types/node@^20.19'])) {
    writeFileSync(join(app, 'embed.mts'), readmeSnippet());
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          noUnusedParameters: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          skipLibCheck: false,
          noEmit: true,
          types: ['node'],
        },
        files: ['embed.mts'],
      }),
    );
    const compiled = run(process.execPath, [tsc, '-p', '.'], app);
    check(
      "strict TypeScript consumer compiles the README's embedding snippet (skipLibCheck false)",
      compiled.status === 0,
      said(compiled),
    );
  }
}

// --- a tools consumer: the generator installed from its tarball -----------------------------------------
const toolsApp = project('tools', { type: 'module' });
if (npmInstall(toolsApp, ['--omit=dev', runtimeTgz, toolsTgz])) {
  const cli = join(bin(toolsApp), 'vfio-uapi');
  const genCheck = run(cli, ['gen', '--check'], toolsApp);
  check('installed tools: vfio-uapi gen --check on the shipped spec', genCheck.status === 0, said(genCheck));
  const specCheck = run(cli, ['check'], toolsApp);
  check('installed tools: vfio-uapi check proves the state machine', specCheck.status === 0, said(specCheck));
  writeFileSync(
    join(toolsApp, 'load.mjs'),
    "import { loadSpec } from 'vfio-uapi-tools';\nconst ir = await loadSpec();\nconsole.log(Object.keys(ir.structs).length);\n",
  );
  const api = run(process.execPath, ['load.mjs'], toolsApp);
  check(
    'installed tools: import { loadSpec } from vfio-uapi-tools',
    api.status === 0 && Number(api.stdout) > 10,
    said(api),
  );
  const ir = run(
    process.execPath,
    ['-e', "console.log(Object.keys(require('vfio-uapi-tools/ir.json').structs).length)"],
    toolsApp,
  );
  check(
    'vfio-uapi-tools/ir.json (the whole IR, for other languages) is exported',
    ir.status === 0 && Number(ir.stdout) > 10,
    said(ir),
  );
}

// --- packaging linters on the tarballs ---------------------------------------------------------------------
for (const tgz of [runtimeTgz, toolsTgz]) {
  const name = tgz.split('/').pop();
  const publint = run(join(bin(root), 'publint'), ['run', tgz, '--level', 'suggestion'], root);
  check(`publint ${name}`, publint.status === 0 && /All good/.test(publint.stdout), said(publint));
  const attw = run(join(bin(root), 'attw'), [tgz, '--profile', 'esm-only', '--format', 'ascii'], root);
  check(`arethetypeswrong (esm-only) ${name}`, attw.status === 0, said(attw));
}

finish();

function finish(): never {
  const failed = results.filter((r) => !r.ok).length;
  const passed = results.length - failed;
  if (process.env.VFIO_UAPI_KEEP_CONSUMER) console.log(`# scratch projects kept: ${scratch.join(' ')}`);
  else for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  if (process.env.VFIO_UAPI_COUNT_FILE)
    appendFileSync(process.env.VFIO_UAPI_COUNT_FILE, `package ${passed} ${failed} 0\n`);
  console.log(`package: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}
