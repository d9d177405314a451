import { readFileSync } from 'node:fs';

/**
 * The kernel facts the tests check the spec against (layouts, numbers, the kernel's step table), held in
 * the repository with their sources: test/fixtures/kernel-facts/vfio-migration-uapi.json.
 */
export function referenceJson(): any {
  const url = new URL('./fixtures/kernel-facts/vfio-migration-uapi.json', import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8'));
}
