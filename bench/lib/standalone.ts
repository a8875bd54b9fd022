import { pathToFileURL } from 'node:url';
import { Logger } from '@nestjs/common';
import { writeResults, type BenchResult } from './report.js';

/** Whether the module with this `import.meta.url` is the script node was started with. */
export const isMain = (moduleUrl: string): boolean =>
  process.argv[1] !== undefined && moduleUrl === pathToFileURL(process.argv[1]).href;

/**
 * Runs one benchmark as a script: prints its result as JSON, writes bench/results/<name>.{json,md}, and
 * exits (open handles of a half-closed driver must not keep a finished benchmark alive).
 */
export const runStandalone = (name: string, bench: () => Promise<BenchResult | BenchResult[]>): void => {
  Logger.overrideLogger(['error', 'warn']);
  bench()
    .then((result) => {
      console.log(JSON.stringify(result, null, 2));
      const { markdown } = writeResults(name, [result].flat());
      console.error(`written ${markdown}`);
      process.exit(0);
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
};
