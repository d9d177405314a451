import { appendFileSync } from 'node:fs';
import type { Reporter, TestModule } from 'vitest/node';

/** Writes `N passed, N failed` to VFIO_UAPI_COUNT_FILE so .ci/run can print one plain closing line. */
export default class CountReporter implements Reporter {
  onTestRunEnd(modules: readonly TestModule[]): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const s = t.result().state;
        if (s === 'passed') passed++;
        else if (s === 'failed') failed++;
        else skipped++;
      }
      if (m.state() === 'failed' && [...m.children.allTests()].length === 0) failed++;
    }
    const file = process.env.VFIO_UAPI_COUNT_FILE;
    if (file) appendFileSync(file, `vitest ${passed} ${failed} ${skipped}\n`);
  }
}
