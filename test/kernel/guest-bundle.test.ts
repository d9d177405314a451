// The guest's bundles (test/kernel/guest-bundle.ts) hold the compiled package and nothing of the generator: built
// here into a scratch folder, their inputs checked, and the bundled command run on an emulated device.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleGuest, leakedInputs, type GuestBundle } from './guest-bundle.js';
import { buildRoot } from './paths.js';

// Under build/ like the real one: koffi, left outside the bundle, resolves from the project's node_modules.
mkdirSync(buildRoot, { recursive: true });
const outdir = mkdtempSync(join(buildRoot, 'guest-bundle-test-'));
let bundle: GuestBundle;

beforeAll(async () => {
  bundle = await bundleGuest(outdir);
}, 120_000);
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

function inputsOf(output: string): string[] {
  const entry = Object.entries(bundle.metafile.outputs).find(([path]) => path.endsWith(`/${output}`));
  if (!entry) throw new Error(`no output ${output}`);
  return Object.keys(entry[1].inputs);
}

function cli(args: string[]) {
  return spawnSync(process.execPath, [bundle.cli, ...args], { encoding: 'utf8', timeout: 30_000 });
}

describe('what the bundles hold', () => {
  it('one file per entry point, no shared chunks', () => {
    expect(readdirSync(outdir).sort()).toEqual(['entry.mjs', 'load-cases.mjs', 'vfio-uapi.mjs']);
  });

  it('the command is the compiled cli/main.js and device commands, and the compiled runtime', () => {
    const inputs = inputsOf('vfio-uapi.mjs');
    for (const file of ['cli/main.js', 'cli/commands/save.js', 'cli/commands/conform.js', 'runtime/device/open.js'])
      expect(inputs).toContain(`packages/vfio-uapi/dist/${file}`);
  });

  it('no source file, no generator code, no tools package', () => {
    expect(leakedInputs(bundle.metafile)).toEqual([]);
    const all = Object.keys(bundle.metafile.inputs);
    expect(all.filter((i) => /generator|vfio-uapi-tools|ts-morph|handlebars|@viz-js/.test(i))).toEqual([]);
    expect(all.filter((i) => i.endsWith('.ts') && !i.startsWith('test/'))).toEqual([]);
  });

  it('imports nothing from outside but node builtins and koffi (the tools package, for conform --spec, is a computed import and not bundled)', () => {
    const outside = Object.values(bundle.metafile.outputs).flatMap((o) =>
      o.imports.filter((i) => i.external && !i.path.startsWith('node:')).map((i) => i.path),
    );
    expect([...new Set(outside)].sort()).toEqual(['koffi']);
  });

  it('the rule catches generator code, the tools package and TypeScript sources', () => {
    const inputs = (paths: string[]) =>
      ({ inputs: Object.fromEntries(paths.map((p) => [p, { bytes: 1, imports: [] }])), outputs: {} }) as Metafile;
    const bad = [
      'generator/ir/load.ts',
      'packages/vfio-uapi-tools/dist/generator/gen.js',
      'node_modules/ts-morph/dist/ts-morph.js',
      'node_modules/handlebars/lib/index.js',
      'runtime/device/open.ts',
      'spec/index.ts',
    ];
    expect(leakedInputs(inputs([...bad, 'packages/vfio-uapi/dist/runtime/device/open.js']))).toEqual(bad);
  });
});

describe('the bundled command', () => {
  it('lists the device commands', () => {
    const r = cli(['--help']);
    expect(r.status).toBe(0);
    const names = [...r.stdout.matchAll(/^ {2}(\S+) /gm)].map((m) => m[1]);
    expect(names).toEqual(['conform', 'emulate', 'info', 'load', 'migrate', 'save']);
  });

  it('runs info on an emulated device', () => {
    const r = cli(['info', 'emulated:mtty', '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, device: 'emulated:mtty', state: 'RUNNING' });
  });

  it('finds the files beside the compiled modules (spec data, known-failure lists)', () => {
    const r = cli(['conform', 'emulated:mtty', '--known-failures', 'auto', '--format', 'ktap']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^# judged by generated\/spec-data\.json/m);
    expect(r.stdout).toMatch(/# XFAIL/);
  });

  it('answers a tool command as unknown, with exit code 2', () => {
    const r = cli(['gen', '--check']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown command "gen"/);
  });
});
