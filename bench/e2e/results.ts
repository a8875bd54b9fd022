// What the end-to-end benchmark reports: a line per run for the log, the rows of bench/results (each p99 over
// Kafka next to the monolith's at the same rate, the operation budget, memory), and the table of the services
// shape (every context of the registry): p50/p95/p99, CPU per confirmed order of each process, the whole
// machine's busy share, and the overload and recovery rows.
import { ratioOf, type BenchResult } from '../lib/report.js';
import { round } from '../lib/stats.js';
import type { RunResult } from './load.js';
import { describeMemory } from './memory.js';
import { designMinimumOf, type WindowCost } from './probes.js';
import { HISTORY_ROUNDS, overKafka, type E2eResult, type MeasuredRun, type ShapeResult } from './settings.js';

export const describeRun = (label: string, r: RunResult): string => {
  const f = r.failures;
  const failures =
    `failures: commands ${f.commands}, shed (503) ${f.shed}, timeouts ${f.visibilityTimeouts}, query errors ${f.queryErrors}` +
    (r.mode === 'server-wait' ? `, 503 retries ${f.serverWaitRetries}` : `, poll GETs ${f.pollRequests}`);
  return (
    `${label.padEnd(8)} ${String(r.rate).padStart(3)}/s ${r.mode.padEnd(11)} ` +
    `visible p50 ${r.visibleMs.p50} p95 ${r.visibleMs.p95} p99 ${r.visibleMs.p99} max ${r.visibleMs.max} ms ` +
    `(n ${r.visibleMs.count}) | 201 p50 ${r.acceptMs.p50} p99 ${r.acceptMs.p99} ms | ` +
    `offered ${r.offeredPerSecond}/s, lag max ${r.maxScheduleLagMs} ms | ${failures}`
  );
};

/** A rate passes: p99 within the target, every order confirmed, no command failed, the backlog drained at once. */
export const passes = (run: RunResult & { drainMs: number; behindAfterDrain: number }, targetMs: number): boolean =>
  run.visibleMs.p99 <= targetMs &&
  run.visibleMs.count === run.sent &&
  run.failures.commands === 0 &&
  run.behindAfterDrain === 0 &&
  run.drainMs <= 2_000;

export const describeCost = (cost: WindowCost): string => {
  const cpu = Object.entries(cost.cpuPercent)
    .map(([name, percent]) => `${name} ${percent}% (${cost.cpuMsPerOrder[name]} ms/order)`)
    .join(', ');
  const ops = Object.entries(cost.perOrder)
    .map(
      ([name, { cosmos, mongo, kafka }]) =>
        `${name}: cosmos ${JSON.stringify(cosmos)} mongo ${JSON.stringify(mongo)}` +
        (Object.keys(kafka).length ? ` kafka requests ${JSON.stringify(kafka)}` : ''),
    )
    .join('; ');
  const kafka = cost.kafkaPerOrder
    ? ` | kafka per order: produced ${cost.kafkaPerOrder.produced}, consumed ${JSON.stringify(cost.kafkaPerOrder.consumed)}`
    : '';
  return `  CPU (machine busy ${cost.machineBusyPercent}%): ${cpu}\n  per order: ${ops}${kafka}`;
};

/** CPU ms per confirmed order of the shape's own processes (not the servers nor the load generator). */
const ownCpu = (shape: ShapeResult, run: MeasuredRun): { each: string; total: number } => {
  const names = Object.keys(shape.services);
  const each = names.map((name) => `${name} ${run.cost.cpuMsPerOrder[name] ?? '-'}`).join(' / ');
  return {
    each,
    total: round(
      names.reduce((sum, name) => sum + (run.cost.cpuMsPerOrder[name] ?? 0), 0),
      2,
    ),
  };
};

/** Orders read CONFIRMED of those accepted, e.g. `1,234 (100%)`. */
const confirmedShare = (run: RunResult): string =>
  `${run.visibleMs.count} (${run.acceptMs.count ? round((100 * run.visibleMs.count) / run.acceptMs.count, 1) : 0}%)`;

const rowLabel = (run: MeasuredRun): string =>
  run.kind === 'overload' ? `${run.rate} (overload)` : run.kind === 'recovery' ? `${run.rate} (after)` : `${run.rate}`;

/**
 * The table of every shape over Kafka: one row per server-wait run. CPU ms per confirmed order is the process's
 * CPU time over the window divided by the orders confirmed in it; the machine's busy share counts every core.
 */
export const servicesTable = (result: E2eResult): string => {
  const lines = [
    '## End to end, every service of the registry',
    '',
    'Latency from the 201 of `POST /orders` until `GET /orders/{id}?minVersion=2` reads it CONFIRMED. CPU: ms of',
    'CPU time per confirmed order of each service process; machine busy: share of all cores over the window.',
    'The overload row counts the orders accepted (201) and shed (503 + Retry-After); its latency is that of',
    'the accepted ones, and confirmed is the share of them read CONFIRMED in time (a 503 without Retry-After, a',
    'timeout or another status counts as failed). `after` is the lowest rate again, right after the overload.',
    '',
    '| shape | orders/s | accepted / shed / failed | confirmed | p50 | p95 | p99 | CPU ms per order (per service) | total | machine busy | result |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- |',
  ];
  for (const shape of result.shapes.filter((s) => s.shape === 'services' || s.shape === 'kafka')) {
    for (const run of shape.runs.filter((r) => r.mode === 'server-wait')) {
      const cpu = ownCpu(shape, run);
      lines.push(
        `| ${shape.shape} (${Object.keys(shape.services).length}) | ${rowLabel(run)} | ` +
          `${run.acceptMs.count} / ${run.failures.shed} / ${run.failures.commands} | ${confirmedShare(run)} | ` +
          `${run.visibleMs.p50} ms | ${run.visibleMs.p95} ms | ` +
          `${run.visibleMs.p99} ms | ${cpu.each} | ${cpu.total} | ${run.cost.machineBusyPercent}% | ` +
          `${run.passed ? 'pass' : '**miss**'} |`,
      );
    }
  }
  return lines.join('\n');
};

/** Rows for bench/results: each figure of the services shape next to the in-process monolith's. */
export const toBenchResults = (result: E2eResult): BenchResult[] => {
  const services = result.shapes.find((s) => s.shape === 'services') ?? result.shapes.find((s) => s.shape === 'kafka');
  const mono = result.shapes.find((s) => s.shape === 'monolith');
  const rows: BenchResult[] = [];
  for (const shape of result.shapes.filter((s) => s.shape === 'services' || s.shape === 'kafka')) {
    for (const k of shape.runs) {
      const m = mono?.runs.find((r) => r.rate === k.rate && r.mode === k.mode && !k.kind);
      const cpu = ownCpu(shape, k);
      rows.push({
        name:
          `order confirmed p99, ${shape.shape} (${Object.keys(shape.services).join(' + ')}), ` +
          `${rowLabel(k)} orders/s, ${k.mode}`,
        unit: 'ms',
        ours: k.visibleMs.p99,
        raw: m?.visibleMs.p99 ?? Number.NaN,
        ratio: ratioOf(k.visibleMs.p99, m?.visibleMs.p99 ?? Number.NaN),
        notes:
          `raw = monolith in-process; p50 ${k.visibleMs.p50}/${m?.visibleMs.p50 ?? '-'}, p95 ${k.visibleMs.p95}/` +
          `${m?.visibleMs.p95 ?? '-'}; CPU ms per confirmed order ${cpu.each} (total ${cpu.total}); machine busy ` +
          `${k.cost.machineBusyPercent}%; accepted ${k.acceptMs.count}, shed ${k.failures.shed}, failed ` +
          `${k.failures.commands}, confirmed ${confirmedShare(k)}; ` +
          `${k.passed ? 'pass' : 'miss'}`,
        details: { run: k, monolith: m },
      });
    }
  }
  const sustained = (s?: ShapeResult) => s?.sustainedRate ?? Number.NaN;
  rows.push({
    name: `sustainable orders/s (p99 <= ${result.settings.p99TargetMs} ms for ${result.settings.seconds} s, no backlog)`,
    unit: 'orders/s',
    ours: sustained(services),
    raw: sustained(mono),
    ratio: ratioOf(sustained(services), sustained(mono)),
    notes: `ours = ${services?.shape ?? '-'} over Kafka, raw = monolith in-process; rates stepped ${result.settings.rates.join(', ')}`,
    details: {},
  });
  const history = result.shapes.find((s) => s.shape === 'kafka-history');
  const withHistory = history?.runs[0];
  const empty = history?.emptyTwin;
  if (withHistory && empty) {
    // A p99 over the orders that did confirm says nothing when others did not: no figure then.
    const p99Of = (run: MeasuredRun) => (run.visibleMs.count === run.sent ? run.visibleMs.p99 : Number.NaN);
    rows.push({
      name: `p99 with ${history.storedEventsAtStart} stored events vs an empty store, ${result.settings.historyRate}/s over Kafka`,
      unit: 'ms',
      ours: p99Of(withHistory),
      raw: p99Of(empty),
      ratio: ratioOf(p99Of(withHistory), p99Of(empty)),
      notes:
        `target: within 1.5x; ${withHistory.visibleMs.count}/${withHistory.sent} and ${empty.visibleMs.count}/` +
        `${empty.sent} confirmed; ${HISTORY_ROUNDS} interleaved windows per side, p50 ${withHistory.visibleMs.p50}/` +
        `${empty.visibleMs.p50}, p95 ${withHistory.visibleMs.p95}/${empty.visibleMs.p95}; p99 per window ` +
        `${withHistory.windowP99Ms?.join(', ')} / ${empty.windowP99Ms?.join(', ')}`,
      details: { withHistory: withHistory.cost, empty: empty.cost },
    });
  }
  for (const shape of result.shapes) rows.push(...budgetRow(shape));
  for (const shape of result.shapes) {
    for (const [service, memory] of Object.entries(shape.memory)) {
      const end = memory.soak?.endMb ?? memory.afterRunsMb;
      rows.push({
        name: `RSS ${shape.shape} ${service}: ${memory.soak ? 'end of soak' : 'after latency runs'} vs idle`,
        unit: 'MB',
        ours: end,
        raw: memory.idleMb,
        ratio: ratioOf(end, memory.idleMb),
        notes: describeMemory('', memory, shape.soak).trim().replace(/^: /, ''),
        details: { ...memory },
      });
    }
  }
  return rows;
};

/** The operation budget per confirmed order of a shape's first run, against the design minimum. */
const budgetRow = (shape: ShapeResult): BenchResult[] => {
  const run = shape.runs.find((r) => r.mode === 'server-wait');
  if (!run) return [];
  const total = (group: 'cosmos' | 'mongo' | 'kafka', match: (kind: string) => boolean) =>
    Object.values(run.cost.perOrder).reduce(
      (sum, ops) =>
        sum +
        Object.entries(ops[group])
          .filter(([kind]) => match(kind))
          .reduce((n, [, count]) => n + count, 0),
      0,
    );
  const b = {
    cosmosBatches: total('cosmos', (k) => k === 'batch'),
    cosmosBulk: total('cosmos', (k) => k === 'bulk'),
    cosmosQueries: total('cosmos', (k) => k.startsWith('query')),
    cosmosPointReads: total('cosmos', (k) => k === 'point read'),
    cosmosDeletes: total('cosmos', (k) => k === 'delete'),
    mongoWrites: total('mongo', (k) => ['update', 'insert', 'delete'].includes(k)),
    mongoReads: total('mongo', (k) => ['find', 'getMore', 'aggregate'].includes(k)),
    kafkaProduced: run.cost.kafkaPerOrder?.produced ?? 0,
    kafkaFetches: total('kafka', (k) => k === 'Fetch'),
    kafkaProduceRequests: total('kafka', (k) => k === 'Produce'),
    kafkaOffsetCommits: total('kafka', (k) => k === 'OffsetCommit'),
    kafkaRequests: total('kafka', () => true),
  };
  // Every shape but the two-service one runs shipping (the registry's services; the monolith has them all).
  const min = designMinimumOf(shape.shape !== 'kafka');
  return [
    {
      name: `operation budget per confirmed order, ${shape.shape} at ${run.rate}/s`,
      unit: 'Cosmos writes',
      ours: round(b.cosmosBatches + b.cosmosBulk, 2),
      raw: min.cosmosBatches + min.cosmosBulk,
      ratio: ratioOf(b.cosmosBatches + b.cosmosBulk, min.cosmosBatches + min.cosmosBulk),
      notes:
        `measured (minimum): Cosmos append batches ${round(b.cosmosBatches, 2)} (${min.cosmosBatches}), ` +
        `outbox completions (bulk) ${round(b.cosmosBulk, 2)} (at most ${min.cosmosBulk}), ` +
        `queries ${round(b.cosmosQueries, 2)} (${min.cosmosQueries}), point reads ${round(b.cosmosPointReads, 2)}, ` +
        `single deletes ${round(b.cosmosDeletes, 2)} (0), ` +
        `Mongo writes ${round(b.mongoWrites, 2)} (${min.mongoWrites}), reads ${round(b.mongoReads, 2)}` +
        (overKafka(shape.shape)
          ? `, Kafka produced ${b.kafkaProduced} (${min.kafkaProduced}); Kafka requests ` +
            `${round(b.kafkaRequests, 2)}: Fetch ${round(b.kafkaFetches, 2)}, Produce ` +
            `${round(b.kafkaProduceRequests, 2)}, OffsetCommit ${round(b.kafkaOffsetCommits, 2)}`
          : ''),
      details: { budget: b, cost: run.cost },
    },
  ];
};

export const summary = (result: E2eResult): string => {
  const lines = [`End-to-end latency: 201 of POST /orders -> GET /orders/{id}?minVersion=2 reads it CONFIRMED`];
  for (const shape of result.shapes) {
    lines.push(
      `${shape.shape}: sustainable ${shape.sustainedRate} orders/s` +
        (shape.storedEventsAtStart ? ` (${shape.storedEventsAtStart} events stored at start)` : ''),
    );
    for (const run of shape.runs) {
      lines.push(
        `${describeRun(run.kind ?? shape.shape, run)} | backlog drained in ${run.drainMs} ms ` +
          `(${run.behindAfterDrain} behind) | ${run.passed ? 'PASS' : 'MISS'}\n${describeCost(run.cost)}`,
      );
    }
  }
  lines.push('Memory (RSS, MB):');
  for (const shape of result.shapes) {
    for (const [service, m] of Object.entries(shape.memory))
      lines.push(describeMemory(`${shape.shape} ${service}`, m, shape.soak));
    if (shape.soak) lines.push(`  ${describeRun(shape.shape, shape.soak.run)} (soak)`);
  }
  lines.push('', servicesTable(result));
  return lines.join('\n');
};
