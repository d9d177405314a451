/**
 * The reports committed under examples/uapi-history/reports/ are what `vfio-uapi diff` says today: each
 * `run NAME OLD NEW [ARGS]` line of regen.sh, rendered as text, equals NAME.txt. They name spec lines, so a
 * spec edit makes them stale: run examples/uapi-history/regen.sh and commit the result.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const reports = join(root, 'examples/uapi-history/reports');
const bin = join(root, 'packages/vfio-uapi/bin/vfio-uapi.js');
const runs = [
  ...readFileSync(join(root, 'examples/uapi-history/regen.sh'), 'utf8').matchAll(/^run (\S+) (\S+) (\S+)(.*)$/gm),
];
const scratch = mkdtempSync(join(tmpdir(), 'vfio-uapi-reports-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

it('regen.sh names the reports', () => expect(runs.length).toBeGreaterThanOrEqual(5));

it.each(runs.map((m) => [m[1]!, m[2]!, m[3]!, m[4]!.trim().split(/\s+/).filter(Boolean)] as const))(
  '%s.txt is current',
  (name, oldSide, newSide, extra) => {
    const out = join(scratch, `${name}.txt`);
    const r = spawnSync(process.execPath, [bin, 'diff', oldSide, newSide, '--out', out, ...extra], {
      cwd: root,
      encoding: 'utf8',
    });
    expect([0, 10, 11, 20]).toContain(r.status);
    const fresh = readFileSync(out, 'utf8');
    expect(fresh, `${name}.txt is stale: run examples/uapi-history/regen.sh`).toBe(
      readFileSync(join(reports, `${name}.txt`), 'utf8'),
    );
  },
);
