// What one measured window of the end-to-end benchmark cost: CPU of every process (our services and the local
// servers of `npm run infra:up`), the requests our services sent to Cosmos DB (by kind), MongoDB (by command) and
// Kafka (by API: Produce, Fetch, OffsetCommit, Heartbeat...), and the Kafka messages produced to and consumed from
// this run's topics. Taken before and after a window; the difference divided by the orders confirmed in it is the
// operation budget per order.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { repoRoot } from '../lib/env.js';
import { round } from '../lib/stats.js';
import { cpuSecondsOfTrees, type AppProcess, type OpCounts } from './processes.js';

export interface Probe {
  readonly at: number;
  readonly cpuSeconds: Record<string, number>;
  readonly ops: Record<string, OpCounts>;
  readonly kafka?: { readonly produced: number; readonly consumed: Record<string, number> };
  /** Clock ticks of the whole machine so far (/proc/stat): all of them, and those not idle. */
  readonly machine: { readonly total: number; readonly busy: number };
}

export interface WindowCost {
  /** CPU per process over the window, % of one core. */
  readonly cpuPercent: Record<string, number>;
  /** CPU time per confirmed order of each process (its CPU time over the window / orders confirmed in it), ms. */
  readonly cpuMsPerOrder: Record<string, number>;
  /** Share of the whole machine's CPU time (every core) that was busy over the window, %. */
  readonly machineBusyPercent: number;
  /** Per confirmed order and service: Cosmos requests by kind, MongoDB commands by name, Kafka requests by API. */
  readonly perOrder: Record<string, Required<Pick<OpCounts, 'cosmos' | 'mongo' | 'kafka'>>>;
  /** Per confirmed order: messages written to this run's topics, and consumed by each service's group. */
  readonly kafkaPerOrder?: { readonly produced: number; readonly consumed: Record<string, number> };
}

/** The local servers' pids, from the records `infra/infra.mjs up` keeps in .infra/run/. */
const infraPids = (): Record<string, number> => {
  const dir = join(repoRoot, '.infra', 'run');
  if (!existsSync(dir)) return {};
  const pids: Record<string, number> = {};
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    try {
      const { pid } = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { pid?: number };
      if (pid) pids[file.replace(/\.json$/, '')] = pid;
    } catch {
      // a record being rewritten: skip it this time
    }
  }
  return pids;
};

export interface KafkaScope {
  readonly admin: Admin;
  readonly topicPrefix: string;
  /** Consumer group of each service. */
  readonly groups: Record<string, string>;
}

const kafkaTotals = async (scope: KafkaScope): Promise<Probe['kafka']> => {
  const topics = (await scope.admin.listTopics()).filter((t) => t.startsWith(scope.topicPrefix));
  let produced = 0;
  for (const topic of topics) {
    for (const { high, low } of await scope.admin.fetchTopicOffsets(topic)) produced += Number(high) - Number(low);
  }
  const consumed: Record<string, number> = {};
  for (const [service, groupId] of Object.entries(scope.groups)) {
    let sum = 0;
    for (const { partitions } of await scope.admin.fetchOffsets({ groupId, topics })) {
      for (const { offset } of partitions) sum += Math.max(0, Number(offset));
    }
    consumed[service] = sum;
  }
  return { produced, consumed };
};

/** Ticks of every core together from the first line of /proc/stat; busy = all but idle and iowait. */
const machineTicks = (): Probe['machine'] => {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already inside user and nice)
    const total = fields.slice(0, 8).reduce((sum, n) => sum + n, 0);
    return { total, busy: total - fields[3]! - fields[4]! };
  } catch {
    return { total: Number.NaN, busy: Number.NaN };
  }
};

export const probe = async (services: Record<string, AppProcess>, kafka?: KafkaScope): Promise<Probe> => {
  const cpuSeconds: Record<string, number> = {};
  for (const [name, process] of Object.entries(services)) cpuSeconds[name] = process.cpuSeconds();
  // Servers by process tree: PostgreSQL's work (FerretDB's storage) happens in its per-connection backends.
  const servers = Object.entries(infraPids());
  const serverSeconds = cpuSecondsOfTrees(servers.map(([, pid]) => pid));
  servers.forEach(([name], i) => (cpuSeconds[name] = serverSeconds[i]!));
  // This process: the load generator shares the machine's cores with everything it measures.
  const own = process.cpuUsage();
  cpuSeconds['load generator'] = (own.user + own.system) / 1e6;
  const ops = Object.fromEntries(Object.entries(services).map(([name, process]) => [name, process.ops()]));
  return {
    at: Date.now(),
    cpuSeconds,
    ops,
    machine: machineTicks(),
    ...(kafka ? { kafka: await kafkaTotals(kafka) } : {}),
  };
};

const perUnit = (after: Record<string, number>, before: Record<string, number>, units: number) =>
  Object.fromEntries(
    Object.keys(after)
      .map((key) => [key, round((after[key]! - (before[key] ?? 0)) / units, 2)] as const)
      .filter(([, value]) => value > 0),
  );

export const windowCost = (before: Probe, after: Probe, confirmed: number): WindowCost => {
  const seconds = (after.at - before.at) / 1000;
  const cpuPercent = Object.fromEntries(
    Object.keys(after.cpuSeconds).map((name) => [
      name,
      round(((after.cpuSeconds[name]! - (before.cpuSeconds[name] ?? Number.NaN)) / seconds) * 100, 1),
    ]),
  );
  const orders = Math.max(confirmed, 1);
  const cpuMsPerOrder = Object.fromEntries(
    Object.keys(after.cpuSeconds).map((name) => [
      name,
      round(((after.cpuSeconds[name]! - (before.cpuSeconds[name] ?? Number.NaN)) * 1000) / orders, 2),
    ]),
  );
  const ticks = after.machine.total - before.machine.total;
  const machineBusyPercent = round(((after.machine.busy - before.machine.busy) / ticks) * 100, 1);
  const perOrder = Object.fromEntries(
    Object.keys(after.ops).map((name) => [
      name,
      {
        cosmos: perUnit(after.ops[name]!.cosmos, before.ops[name]?.cosmos ?? {}, orders),
        mongo: perUnit(after.ops[name]!.mongo, before.ops[name]?.mongo ?? {}, orders),
        kafka: perUnit(after.ops[name]!.kafka ?? {}, before.ops[name]?.kafka ?? {}, orders),
      },
    ]),
  );
  const kafkaPerOrder =
    after.kafka && before.kafka
      ? {
          produced: round((after.kafka.produced - before.kafka.produced) / orders, 2),
          consumed: perUnit(after.kafka.consumed, before.kafka.consumed, orders),
        }
      : undefined;
  return { cpuPercent, cpuMsPerOrder, machineBusyPercent, perOrder, ...(kafkaPerOrder ? { kafkaPerOrder } : {}) };
};

/**
 * The design minimum per placed-and-confirmed order. Per command: one point read (or a few) to load, one
 * transactional batch to append, one publish from memory; per relay pass, one bulk request completes the
 * outbox entries of every stream it published; so:
 *   appends: OrderPlaced, the reservation, the product's stock, OrderConfirmed = 4 batches;
 *   completions: at most 4 bulk requests (one per append when each pass relays one append; fewer under load);
 *   loads: the product and the order (the reservation and a new order are new streams) = 2 tips (+ their events);
 *   Kafka: the 4 events, once each; MongoDB: the order summary twice, the product stock once, one query read.
 */
export const DESIGN_MINIMUM = {
  /** 4 appends: one transactional batch each. */
  cosmosBatches: 4,
  /** Outbox completions: at most one bulk request per append. */
  cosmosBulk: 4,
  cosmosQueries: 0,
  kafkaProduced: 4,
  mongoWrites: 3,
} as const;

/**
 * The minimum of a shape: the monolith also runs shipping, which appends twice per confirmed order (the
 * order's lines, the shipment: + 2 batches and at most 2 completions) and writes the shipment view once.
 */
export const designMinimumOf = (runsShipping: boolean): { [K in keyof typeof DESIGN_MINIMUM]: number } =>
  runsShipping
    ? {
        ...DESIGN_MINIMUM,
        cosmosBatches: DESIGN_MINIMUM.cosmosBatches + 2,
        cosmosBulk: DESIGN_MINIMUM.cosmosBulk + 2,
        mongoWrites: DESIGN_MINIMUM.mongoWrites + 1,
      }
    : DESIGN_MINIMUM;
