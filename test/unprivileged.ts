import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { REPO_ROOT } from '../generator/ir/load.js';

/** Runs a command as uid/gid 65534 with no groups and no capabilities. */
export const AS_NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];

/**
 * Dropping privileges needs root and setpriv (util-linux), and uid 65534 must be able to reach the checkout
 * (every parent folder searchable). `.ci/run` makes sure of the latter; elsewhere the tests say why they skip.
 */
export const canRunAsNobody =
  process.getuid?.() === 0 &&
  existsSync('/usr/bin/setpriv') &&
  spawnSync(AS_NOBODY[0]!, [...AS_NOBODY.slice(1), 'test', '-r', `${REPO_ROOT}/package.json`]).status === 0;

if (process.getuid?.() === 0 && !canRunAsNobody)
  console.warn(`unprivileged tests skipped: uid 65534 cannot reach ${REPO_ROOT} (a parent folder is not searchable)`);
