import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../generator/ir/load.js';

/** The checked fact sheet in ../shared/reference (CI gets a read-only copy beside the clone). */
export function referenceJson(): any {
  return JSON.parse(readFileSync(join(REPO_ROOT, '../shared/reference/vfio-migration-uapi.json'), 'utf8'));
}
