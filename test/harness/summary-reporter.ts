import type { Reporter, File, Task } from 'vitest';

/**
 * Prints one plain closing line, `N passed, N failed, N skipped`, after vitest's own report,
 * so any log reader can tell how many tests ran.
 */
export default class SummaryReporter implements Reporter {
  onFinished(files: File[] = []): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const visit = (t: Task) => {
      if (t.type === 'suite') {
        t.tasks.forEach(visit);
        if (t.result?.state === 'fail' && t.tasks.length === 0) failed++;
        return;
      }
      const s = t.result?.state;
      if (s === 'pass') passed++;
      else if (s === 'fail') failed++;
      else skipped++;
    };
    for (const f of files) {
      const before = failed;
      f.tasks.forEach(visit);
      // A file whose setup failed (beforeAll, import) fails even when none of its tests ran.
      if (f.result?.state === 'fail' && failed === before) failed++;
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  }
}
