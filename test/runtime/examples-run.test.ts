/** Each example program runs to completion and says what it should. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

it.each([
  ['save-restore', /states are equal/],
  [
    'precopy-loop',
    /round 1: read \d+ bytes[\s\S]*stop-copy: read \d+ bytes, stopped by end[\s\S]*SETs: RUNNING->PRE_COPY, PRE_COPY->PRE_COPY_P2P, PRE_COPY_P2P->STOP_COPY/,
  ],
  ['embed', /refused as expected \[mig\.state\.set\.forbidden\][\s\S]*verified: true/],
])('examples/%s', (name, expected) => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', `examples/${name}/main.ts`], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60000,
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(expected);
});

it('examples/precopy-loop drives the loop with exported names only: typed reads, no errno numbers', () => {
  const source = readFileSync(new URL('../../examples/precopy-loop/main.ts', import.meta.url), 'utf8');
  expect(source).not.toMatch(/errno\s*===?\s*-?\d/);
  expect(source).not.toMatch(/readSync|node:fs/);
  expect([...source.matchAll(/from '([^']+)'/g)].map((m) => m[1])).toEqual(['vfio-uapi']);
  expect(source).toMatch(/readData\(/);
});
