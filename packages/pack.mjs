#!/usr/bin/env node
// `npm run pack`: builds (unless --no-build) and packs both packages into build/pack/*.tgz, printing their
// paths. vfio-uapi packs from its folder as it is. vfio-uapi-tools also ships the spec's TypeScript sources
// (the generator reads their doc comments, and users edit them) and generated/ (what `gen --check`
// compares against), which live at the top of the repository: it is packed from a staged copy.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'build', 'pack');
if (!process.argv.includes('--no-build'))
  execFileSync(process.execPath, [join(root, 'packages', 'build.mjs')], { stdio: 'inherit' });

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const stage = join(out, 'stage', 'vfio-uapi-tools');
const tools = join(root, 'packages', 'vfio-uapi-tools');
for (const name of ['package.json', 'README.md', 'dist'])
  cpSync(join(tools, name), join(stage, name), { recursive: true });
cpSync(join(root, 'spec'), join(stage, 'spec'), { recursive: true, filter: (p) => !p.endsWith('.test.ts') });
cpSync(join(root, 'generated'), join(stage, 'generated'), { recursive: true });

for (const dir of [join(root, 'packages', 'vfio-uapi'), stage]) {
  const json = execFileSync('npm', ['pack', '--json', '--pack-destination', out], { cwd: dir, encoding: 'utf8' });
  const [{ filename }] = JSON.parse(json);
  console.log(join(out, filename));
}
rmSync(join(out, 'stage'), { recursive: true, force: true });
