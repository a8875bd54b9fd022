// One shape of the end-to-end benchmark from start to stop: start its services (one after the other: the first
// creates the fresh topics), register the products, then (1) the history comparison for `kafka-history`, or (2)
// ascending rates until one misses the target, (3) the overload row: a rate beyond what the machine sustains,
// then the lowest rate again to show the services recovered, (4) the memory soak. Every measured window is
// probed before and after (probes.ts): CPU per process and per confirmed order, the machine's busy share and
// the operation budget.
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { benchEnv, runId } from '../lib/env.js';
import { benchCosmosClient } from '../lib/fixtures.js';
import { sleep } from '../lib/stats.js';
import { writeHistory } from './history.js';
import { describeHops, hopsBetween } from './hops.js';
import { drain, pooled, runLoad, withoutSamples, type RunOptions, type SampledRun, type Target } from './load.js';
import { rssOf, soakPhase } from './memory.js';
import { probe, windowCost, type KafkaScope, type WindowCost } from './probes.js';
import { AppProcess } from './processes.js';
import { describeCost, describeRun, passes } from './results.js';
import { appsOf, EMPTY_TWIN, groupOf, names, registerProducts, serviceEnv } from './services.js';
import {
  HISTORY_ROUNDS,
  overKafka,
  type E2eSettings,
  type MeasuredRun,
  type ServiceMemory,
  type Shape,
  type ShapeResult,
} from './settings.js';

interface Side {
  readonly label: string;
  readonly target: Target;
  readonly services: Record<string, AppProcess>;
  readonly scope?: KafkaScope;
}

const startServices = async (shape: Shape, apps: [string, string][], scope: string, processes: AppProcess[]) => {
  const byService: Record<string, AppProcess> = {};
  const readyMs: Record<string, number> = {};
  for (const [service, app] of apps) {
    const child = await AppProcess.spawn(app, `${scope}-${service}`, serviceEnv(shape, service, scope));
    processes.push(child);
    readyMs[service] = await child.waitReady(90_000);
    byService[service] = child;
  }
  return { byService, readyMs };
};

const targetOf = async (services: Record<string, AppProcess>, skus: string[]): Promise<Target> => {
  const inventoryUrl = (services.inventory ?? services.monolith)!.url;
  await registerProducts(inventoryUrl, skus);
  const ordersUrl = (services.orders ?? services.monolith)!.url;
  return { ordersUrl, inventoryUrl, skus, versions: new Map(skus.map((s) => [s, 1])), next: 0 };
};

export const runShape = async (shape: Shape, settings: E2eSettings, log: (l: string) => void): Promise<ShapeResult> => {
  const apps = await appsOf(shape);
  const processes: AppProcess[] = [];
  let admin: Admin | undefined;
  try {
    let storedEventsAtStart = 0;
    if (shape === 'kafka-history') {
      for (const [service] of apps) {
        const container = `${service}-events`;
        const each = Math.ceil(settings.storedEvents / apps.length);
        const written = await writeHistory(benchCosmosClient(), names(shape).database, container, each);
        storedEventsAtStart += written.events;
        log(
          `${shape}: ${written.events} events in ${written.streams} streams written to ${container} in ${written.ms} ms`,
        );
      }
    }
    const { byService, readyMs } = await startServices(shape, apps, shape, processes);
    // The history comparison's other side: the same services on empty stores, started the same way.
    const twin = shape === 'kafka-history' ? await startServices(shape, apps, EMPTY_TWIN, processes) : undefined;
    const services = Object.fromEntries(
      Object.entries(byService).map(([s, p]) => [s, { pid: p.pid, readyMs: readyMs[s]!, log: p.logFile }]),
    );
    log(
      `${shape}: ready (${Object.entries(readyMs)
        .map(([s, ms]) => `${s} ${ms} ms`)
        .join(', ')})`,
    );
    await sleep(3_000);
    const idle = rssOf(byService);
    log(`${shape}: idle RSS ${JSON.stringify(idle)} MB`);

    const skus = Array.from({ length: settings.products }, (_, i) => `E2E-${runId}-${i}`);
    const started = Date.now();
    const target = await targetOf(byService, skus);
    log(`${shape}: registered ${skus.length} products in ${Date.now() - started} ms`);
    const kafkaScopeOf = (of: Admin, scope: string): KafkaScope => ({
      admin: of,
      topicPrefix: names(scope).topicPrefix,
      groups: Object.fromEntries(apps.map(([service]) => [service, groupOf(scope, service)])),
    });
    if (overKafka(shape)) {
      admin = new Kafka({ brokers: benchEnv.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
    }
    const main: Side = { label: 'history', target, services: byService, scope: admin && kafkaScopeOf(admin, shape) };
    const common = { pollMs: settings.clientPollMs, visibilityTimeoutMs: settings.visibilityTimeoutMs };
    const settle = async (side: Side, what: string): Promise<{ drainMs: number; behindAfterDrain: number }> => {
      const { ms, behind } = await drain(side.target, settings.drainTimeoutMs);
      if (ms > 1_000 || behind > 0) log(`${shape}: backlog after ${what} drained in ${ms} ms, ${behind} SKUs behind`);
      return { drainMs: ms, behindAfterDrain: behind };
    };
    /** One probed window: the load, its cost, and the drain of its backlog. */
    const measure = async (side: Side, options: Omit<RunOptions, keyof typeof common>, label: string = shape) => {
      const before = await probe(side.services, side.scope);
      const run = await runLoad(side.target, { ...common, ...options });
      const cost = windowCost(before, await probe(side.services, side.scope), run.visibleMs.count);
      const drained = await settle(side, `${options.rate}/s ${options.mode}`);
      log(`${describeRun(label, run)}\n${describeCost(cost)}`);
      if (side.scope)
        log(describeHops(`${label} ${options.rate}/s`, await hopsBetween(side.scope, before.at, Date.now())));
      return { run, cost, drained };
    };
    const runs: MeasuredRun[] = [];
    let emptyTwin: MeasuredRun | undefined;
    let sustainedRate = 0;
    if (twin) {
      const other: Side = {
        label: 'empty',
        target: await targetOf(twin.byService, skus),
        services: twin.byService,
        scope: admin && kafkaScopeOf(admin, EMPTY_TWIN),
      };
      [runs[0], emptyTwin] = await historyComparison(main, other, settings, measure, log);
    } else {
      // Ascending rates until one misses the target (the next would only queue further).
      for (const rate of [...settings.rates].sort((a, b) => a - b)) {
        await runLoad(target, { ...common, rate, seconds: settings.warmupSeconds, mode: 'server-wait' });
        await settle(main, `the ${rate}/s warm-up`);
        const modes = rate === settings.clientPollRate ? (['server-wait', 'client-poll'] as const) : ['server-wait'];
        let passed = false;
        for (const mode of modes as readonly RunOptions['mode'][]) {
          const { run, cost, drained } = await measure(main, { rate, seconds: settings.seconds, mode });
          const measured = { ...withoutSamples(run), ...drained, cost };
          runs.push({ ...measured, passed: passes(measured, settings.p99TargetMs) });
          if (mode === 'server-wait') passed = runs.at(-1)!.passed;
        }
        if (!passed) break;
        sustainedRate = rate;
      }
      if (settings.overloadRate > 0 && settings.overloadShapes.includes(shape))
        runs.push(...(await overloadAndRecovery(main, settings, measure)));
    }
    const memory: Record<string, ServiceMemory> = Object.fromEntries(
      Object.keys(byService).map((s) => [s, { idleMb: idle[s]!, afterRunsMb: Number.NaN }]),
    );
    let soak: ShapeResult['soak'];
    if (settings.soakShapes.includes(shape) && settings.soakSeconds > 0) {
      // Half the sustainable rate: memory must stay flat where the stack keeps up, not while a backlog grows.
      // BENCH_SOAK_RATE fixes it; with no rate sustained, half the lowest rate stepped.
      const soakRate = settings.soakRate || Math.max(1, Math.floor((sustainedRate || settings.rates[0]!) / 2));
      soak = await soakPhase(byService, target, { ...settings, soakRate }, memory, (l) => log(`${shape}: ${l}`));
      log(describeRun(`${shape}`, soak.run));
      soak = { ...soak, drain: await settle(main, 'the soak') };
    }
    const afterRuns = rssOf(byService);
    log(`${shape}: RSS after the latency runs ${JSON.stringify(afterRuns)} MB`);
    for (const service of Object.keys(byService))
      memory[service] = { ...memory[service]!, afterRunsMb: afterRuns[service]! };
    const transport = overKafka(shape) ? 'kafka' : 'inprocess';
    return {
      shape,
      transport,
      services,
      runs,
      sustainedRate,
      storedEventsAtStart,
      ...(emptyTwin ? { emptyTwin } : {}),
      memory,
      ...(soak ? { soak } : {}),
    };
  } finally {
    await admin?.disconnect().catch(() => undefined);
    await Promise.all(processes.map((p) => p.stop(15_000)));
  }
};

type Measure = (
  side: Side,
  options: Omit<RunOptions, 'pollMs' | 'visibilityTimeoutMs'>,
  label?: string,
) => Promise<{ run: SampledRun; cost: WindowCost; drained: { drainMs: number; behindAfterDrain: number } }>;

/**
 * The overload row: `overloadRate` orders/s offered (beyond what the machine sustains). It passes when the
 * services shed what they cannot take (503 + Retry-After) instead of collapsing: every order accepted is
 * confirmed, their p99 stays under the overload target and the backlog drains. Then the lowest rate again:
 * the services recovered when it passes as it did before.
 */
const overloadAndRecovery = async (side: Side, settings: E2eSettings, measure: Measure): Promise<MeasuredRun[]> => {
  const overload = await measure(
    side,
    { rate: settings.overloadRate, seconds: settings.seconds, mode: 'server-wait' },
    'overload',
  );
  const accepted = overload.run.acceptMs.count;
  const o = { ...withoutSamples(overload.run), ...overload.drained, cost: overload.cost };
  const overloadPassed =
    o.visibleMs.count === accepted &&
    o.failures.commands === 0 &&
    o.visibleMs.p99 <= settings.overloadP99TargetMs &&
    o.behindAfterDrain === 0;
  const rate = Math.min(...settings.rates);
  const recovery = await measure(side, { rate, seconds: settings.seconds, mode: 'server-wait' }, 'recovery');
  const r = { ...withoutSamples(recovery.run), ...recovery.drained, cost: recovery.cost };
  return [
    { ...o, passed: overloadPassed, kind: 'overload' },
    { ...r, passed: passes(r, settings.p99TargetMs), kind: 'recovery' },
  ];
};

/**
 * The history comparison: one rate, windows alternating between the filled and the empty stores (H E E H H E
 * E H), pooled per side. Machine noise that lasts longer than a window hits both sides.
 */
const historyComparison = async (
  history: Side,
  empty: Side,
  settings: E2eSettings,
  measure: Measure,
  log: (l: string) => void,
): Promise<[MeasuredRun, MeasuredRun]> => {
  const rate = settings.historyRate;
  const sides = [history, empty];
  const common = { pollMs: settings.clientPollMs, visibilityTimeoutMs: settings.visibilityTimeoutMs };
  for (const side of sides) {
    await runLoad(side.target, { ...common, rate, seconds: settings.warmupSeconds, mode: 'server-wait' });
    await drain(side.target, settings.drainTimeoutMs);
  }
  const windowSeconds = Math.max(5, Math.round((2 * settings.seconds) / HISTORY_ROUNDS));
  const windows = new Map(sides.map((side) => [side.label, [] as { run: SampledRun; cost: WindowCost }[]]));
  const drains = new Map(sides.map((side) => [side.label, { drainMs: 0, behindAfterDrain: 0 }]));
  for (let round = 0; round < HISTORY_ROUNDS; round++) {
    for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
      const label = `kafka-history ${side.label} window ${round + 1}`;
      const { run, cost, drained } = await measure(side, { rate, seconds: windowSeconds, mode: 'server-wait' }, label);
      const worst = drains.get(side.label)!;
      drains.set(side.label, { ...drained, drainMs: Math.max(worst.drainMs, drained.drainMs) });
      windows.get(side.label)!.push({ run, cost });
    }
  }
  const measuredOf = (label: string): MeasuredRun => {
    const side = windows.get(label)!;
    const run = pooled(side.map((w) => w.run));
    const drained = drains.get(label)!;
    return {
      ...run,
      ...drained,
      // The cost of the last window: CPU shares of one side's window, not diluted by the other's.
      cost: side.at(-1)!.cost,
      passed: passes({ ...run, ...drained }, settings.p99TargetMs),
      windowP99Ms: side.map((w) => w.run.visibleMs.p99),
    };
  };
  const pooledRuns: [MeasuredRun, MeasuredRun] = [measuredOf('history'), measuredOf('empty')];
  for (const [i, label] of ['kafka-history', EMPTY_TWIN].entries())
    log(`${describeRun(`${label} pooled`, pooledRuns[i]!)} | ${pooledRuns[i]!.passed ? 'PASS' : 'MISS'}`);
  return pooledRuns;
};
