// End-to-end latency and memory of the running services, against the real servers of `npm run infra:up`.
//
// Latency: an order accepted by the orders service (POST /orders answered 201 at t0) -> the orders service reads
// it CONFIRMED (GET /orders/{id}?minVersion=2: inventory reserved the stock and answered). Open-loop load at fixed
// rates stepped up until one misses the target (p99 <= 250 ms, every order confirmed, no backlog left), for every
// context of the registry as services over Kafka (as `npm run start:services` runs them), orders + inventory
// alone, and the monolith with in-process events; then an overload rate and the lowest rate again. Each window
// reports CPU per process and per confirmed order, the machine's busy share and the operation budget (probes.ts).
// Shapes: settings.ts; one shape's run: shape.ts; memory soak: memory.ts; tables: results.ts.
//
// Build and run: npx nest build bench && node dist/bench/e2e/latency.js
// Settings: BENCH_E2E_SECONDS (measured seconds per rate, default 60), BENCH_SOAK_SECONDS (default 300),
// BENCH_E2E_RATES (steps, default 10,25,50,75,100), BENCH_E2E_SHAPES (default services,kafka,monolith,kafka-history),
// BENCH_OVERLOAD_RATE (default 150; 0: no overload row), BENCH_SOAK_SHAPES (default services), BENCH_SOAK_RATE
// (default: half the sustainable rate), BENCH_STORED_EVENTS (default 50000), BENCH_HISTORY_RATE (default 10),
// BENCH_E2E_KEEP=1 keeps this run's databases and topics. HTTP_* and OTEL_* variables reach the services.
// BENCH_CPU_PROF=1 writes a V8 CPU profile of each service process into its log folder; BENCH_NODE_ARGS adds
// Node.js flags to every service (e.g. --heapsnapshot-signal=SIGUSR2, snapshots land in the log folder).
import { Logger } from '@nestjs/common';
import { runId } from '../lib/env.js';
import { writeResults } from '../lib/report.js';
import { isMain } from '../lib/standalone.js';
import { logDir } from './processes.js';
import { servicesTable, summary, toBenchResults } from './results.js';
import { cleanup } from './services.js';
import { runShape } from './shape.js';
import { e2eOptionsFromEnv, settingsOf, type E2eOptions, type E2eResult, type ShapeResult } from './settings.js';

export { e2eOptionsFromEnv, servicesTable, toBenchResults };
export type { E2eOptions, E2eResult };

export async function runE2eBench(options: E2eOptions = {}): Promise<E2eResult> {
  const log = options.log ?? ((line: string) => console.error(line));
  const settings = settingsOf(options);
  log(`e2e bench run ${runId}, process logs in ${logDir}`);
  const shapes: ShapeResult[] = [];
  for (const shape of settings.shapes) {
    try {
      shapes.push(await runShape(shape, settings, log));
    } finally {
      if (!settings.keep) await cleanup(shape, log);
    }
  }
  return { settings, shapes };
}

if (isMain(import.meta.url)) {
  Logger.overrideLogger(['error', 'warn']);
  runE2eBench(e2eOptionsFromEnv())
    .then((result) => {
      console.log(summary(result));
      console.log(JSON.stringify(result, null, 2));
      const sections = [servicesTable(result)];
      const { json, markdown } = writeResults('e2e-latency', toBenchResults(result), { e2e: result }, sections);
      console.error(`written ${json} and ${markdown}`);
      process.exit(0);
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
