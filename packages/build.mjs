#!/usr/bin/env node
// `npm run build` (also run by `npm ci` through `prepare`): compiles the TypeScript sources into the two
// packages' dist/ folders with tsc, then copies beside the compiled code the files it reads at run time:
// generator templates, known-failure lists, plain-JS worker scripts, the runtime's spec data (JSON without
// whitespace).
// Two tsc passes: JavaScript and source maps without comments (the shipped runtime stays small), then the
// .d.ts files with every doc comment (what editors show); declarations no entry point reaches are internal
// and are removed. Plain JavaScript, so it runs before anything is built.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

// The tools first: the runtime's `conform --spec` imports their types.
const packages = [
  { dir: 'packages/vfio-uapi-tools', assets: [['generator', /\.hbs$/]] },
  {
    dir: 'packages/vfio-uapi',
    assets: [
      ['runtime', /\.(txt|mjs)$/],
      ['generated', /^spec-data\.json$/],
    ],
  },
];

for (const { dir, assets } of packages) {
  const dist = join(root, dir, 'dist');
  rmSync(dist, { recursive: true, force: true }); // no compiled file outlives its source
  const project = ['-p', join(root, dir, 'tsconfig.json')];
  compile(dir, project);
  compile(dir, [
    ...project,
    '--declaration',
    '--emitDeclarationOnly',
    '--removeComments',
    'false',
    '--sourceMap',
    'false',
  ]);
  const internal = removeUnreachableDeclarations(join(root, dir));
  let copied = 0;
  for (const [folder, pattern] of assets) copied += copyMatching(join(root, folder), join(dist, folder), pattern);
  console.log(
    `build: ${relative(root, dist)} compiled (${internal} internal .d.ts left out), ${copied} asset file(s) copied`,
  );
}

function compile(dir, args) {
  try {
    execFileSync(process.execPath, [tsc, ...args], { stdio: 'inherit' });
  } catch {
    console.error(`build: tsc failed for ${dir} (the errors are above)`);
    process.exit(1);
  }
}

/**
 * Keep the .d.ts files the package's exports reach (following their relative imports); the rest describe
 * internal modules nobody can import (the exports map forbids it), so they are deleted. Returns how many.
 */
function removeUnreachableDeclarations(packageDir) {
  const { exports } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
  const reached = new Set();
  const queue = Object.values(exports).flatMap((e) =>
    typeof e === 'object' && e.types && !e.types.includes('*') ? [join(packageDir, e.types)] : [],
  );
  const wildcard = Object.values(exports).flatMap((e) =>
    typeof e === 'object' && e.types?.includes('*') ? [join(packageDir, e.types)] : [],
  );
  for (const pattern of wildcard) {
    const [before, after] = pattern.split('*');
    for (const f of walk(dirname(before))) if (f.startsWith(before) && f.endsWith(after)) queue.push(f);
  }
  while (queue.length) {
    const file = queue.pop();
    if (reached.has(file) || !existsSync(file)) continue;
    reached.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import\()\s*['"](\.{1,2}\/[^'"]+)['"]/g))
      queue.push(join(dirname(file), m[1].replace(/\.js$/, '.d.ts')));
  }
  let removed = 0;
  for (const f of walk(join(packageDir, 'dist')))
    if (f.endsWith('.d.ts') && !reached.has(f)) {
      rmSync(f);
      removed++;
    }
  return removed;
}

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else yield path;
  }
}

function copyMatching(from, to, pattern) {
  let n = 0;
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    if (entry.isDirectory()) n += copyMatching(source, join(to, entry.name), pattern);
    else if (pattern.test(entry.name)) {
      mkdirSync(to, { recursive: true });
      if (entry.name.endsWith('.json'))
        writeFileSync(join(to, entry.name), JSON.stringify(JSON.parse(readFileSync(source, 'utf8'))));
      else copyFileSync(source, join(to, entry.name));
      n++;
    }
  }
  return n;
}
