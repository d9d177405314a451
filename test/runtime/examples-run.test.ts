/** Each example program runs to completion and says what it should. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

it.each([
  ['save-restore', /states are equal/],
  ['precopy-loop', /stop-copy: read \d+ bytes/],
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
