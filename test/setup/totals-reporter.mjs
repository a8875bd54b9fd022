// A Jest reporter beside the default one: after Jest's summary, one plain closing line,
// `tests: N passed, N failed, N skipped`, which CI tooling of any language reads (Jest's own
// `Tests: 7 passed, 7 total` is Jest's format only). With TEST_TOTALS_FILE set, the same three counts
// are appended to that file, for the total that .ci/run prints at its end.
import { appendFileSync } from 'node:fs';

export default class TotalsReporter {
  onRunComplete(_contexts, results) {
    // A suite that could not run (a syntax error, a failing hook) has no failed test: count it as one.
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const skipped = results.numPendingTests + results.numTodoTests;
    console.log(`tests: ${results.numPassedTests} passed, ${failed} failed, ${skipped} skipped`);
    if (process.env.TEST_TOTALS_FILE) {
      appendFileSync(process.env.TEST_TOTALS_FILE, `${results.numPassedTests} ${failed} ${skipped}\n`);
    }
  }
}
