// npm run bench: every benchmark against the real servers of `npm run infra:up`, each measured side by
// side with the raw driver doing the same work in the same run, then the end-to-end latency at fixed
// rates and the services' memory. Results: bench/results/summary.{md,json} (+ one file per benchmark).
// BENCH_SCALE multiplies the micro-benchmark sizes; BENCH_E2E_SECONDS and BENCH_SOAK_SECONDS set the
// latency run and memory soak lengths (defaults 60 s per rate and 300 s); BENCH_ONLY=micro|e2e runs half.
import { runE2eBench, e2eOptionsFromEnv, servicesTable, toBenchResults } from './e2e/latency.js';
import { writeResults, type BenchResult } from './lib/report.js';
import { commandAppend } from './micro/command-append.js';
import { consume } from './micro/consume.js';
import { httpAdapter } from './micro/http-adapter.js';
import { livePush } from './micro/live-push.js';
import { projection } from './micro/projection.js';
import { rebuild, rebuildAtScale } from './micro/rebuild.js';
import { relay } from './micro/relay.js';
import { relayAtScale } from './micro/relay-at-scale.js';
import { snapshotLoad } from './micro/snapshot-load.js';

const only = process.env.BENCH_ONLY;
const results: BenchResult[] = [];
let e2e: unknown;
const sections: string[] = [];

if (only !== 'e2e') {
  for (const [name, run] of [
    ['command append', commandAppend],
    ['relay', relay],
    ['relay at scale', relayAtScale],
    ['consume', consume],
    ['projection', projection],
    ['rebuild', rebuild],
    ['live push', livePush],
    ['rebuild at scale', rebuildAtScale],
    ['snapshots', snapshotLoad],
    ['HTTP adapter (Express vs Fastify)', httpAdapter],
  ] as const) {
    console.error(`bench: ${name}...`);
    results.push(...[await run()].flat());
  }
}
if (only !== 'micro') {
  console.error('bench: end-to-end latency and memory...');
  const result = await runE2eBench(e2eOptionsFromEnv());
  results.push(...toBenchResults(result));
  sections.push(servicesTable(result));
  e2e = result;
}

const { markdown } = writeResults('summary', results, { e2e }, sections);
console.log(`bench: results in ${markdown}`);
