// Shared by the reliability specs: the orders and inventory services as OS processes on this run's own topic
// prefix, direct reads of Kafka topics, Cosmos DB containers and MongoDB read models, and stopping one server
// (Kafka or FerretDB) for a while. Each test file gets its own run id (jest isolates modules per file), so its
// own topics, databases and consumer groups.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { join, resolve } from 'node:path';
import { CosmosClient } from '@azure/cosmos';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { MongoClient } from 'mongodb';
import type { Response } from 'supertest';
import { cosmosAgent, infraEnv, mongodbUrlFor, runId } from '../../infra/infra-env.js';
import type { StoredEvent } from '../../services/support/event-store.js';
import { SETTLE_MS, type Deployment, type Outcome, type TrackedOrder } from '../../services/support/flows.js';
import { defineService, stopAll, type ServiceProcess } from '../../services/support/processes.js';
import { deploymentOf, serviceEnv, stackRun } from '../../services/support/stack.js';

const repositoryRoot = resolve(import.meta.dirname, '..', '..', '..');
export const PREFIX = `rel-${runId}.`;
export const ORDERS_TOPIC = `${PREFIX}orders.order`;
export const PRODUCT_TOPIC = `${PREFIX}inventory.product`;
export const RESERVATION_TOPIC = `${PREFIX}inventory.reservation`;
export const ALL_TOPICS = [ORDERS_TOPIC, PRODUCT_TOPIC, RESERVATION_TOPIC];
export const RELAY_LEASE_TTL_MS = 2_000;
const EXTRA_ENV = {
  KAFKA_TOPIC_PREFIX: PREFIX,
  RELAY_LEASE_TTL_MS: String(RELAY_LEASE_TTL_MS),
  RELAY_POLL_INTERVAL_MS: '250',
};
/** Environment of a service process of this run (topic prefix, short lease), e.g. for extra instances. */
export const reliabilityEnv = (service: string, extra: Record<string, string> = {}) =>
  serviceEnv(service, { ...EXTRA_ENV, ...extra });

/**
 * Environment that arms the test-only fault point of kill-after-append.preload.mjs in a built service:
 * it SIGKILLs itself right after appending an event of `eventType`.
 */
export const killAfterAppendEnv = (eventType: string): Record<string, string> => ({
  NODE_OPTIONS: `--import=${join(import.meta.dirname, 'kill-after-append.preload.mjs')}`,
  TEST_FAULT_KILL_AFTER_APPEND: eventType,
});

export const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

// ---- Kafka, read directly ---------------------------------------------------------------------------------

const kafka = new Kafka({
  clientId: `reliability-${runId}`,
  brokers: infraEnv.kafkaBrokers,
  logLevel: logLevel.NOTHING,
  retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1_000 },
});

export interface ReadMessage {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | undefined;
  readonly headers: Record<string, string | undefined>;
  readonly value: string | undefined;
}

let readers = 0;
/** Every message of a topic up to its current high watermarks, by partition and offset. */
export const readTopic = async (topic: string, timeoutMs = 30_000): Promise<ReadMessage[]> => {
  const admin = kafka.admin();
  await admin.connect();
  let highs: Map<number, number>;
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    highs = new Map(offsets.filter((p) => Number(p.high) > Number(p.low)).map((p) => [p.partition, Number(p.high)]));
  } finally {
    await admin.disconnect();
  }
  const messages: ReadMessage[] = [];
  if (highs.size === 0) return messages;
  const pending = new Map(highs);
  readers += 1;
  const consumer = kafka.consumer({
    groupId: `reliability-read-${runId}-${readers}`,
    maxWaitTimeInMs: 100,
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`Reading ${topic}: partitions not read to the end: ${JSON.stringify([...pending])}`)),
        timeoutMs,
      );
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            const offset = Number(message.offset);
            if (offset >= (highs.get(partition) ?? 0)) return;
            const headers: Record<string, string | undefined> = {};
            for (const [name, raw] of Object.entries(message.headers ?? {})) {
              headers[name] = Array.isArray(raw) ? raw.at(-1)?.toString() : raw?.toString();
            }
            messages.push({
              partition,
              offset,
              key: message.key?.toString(),
              headers,
              value: message.value?.toString(),
            });
            if (offset + 1 >= (pending.get(partition) ?? Infinity)) pending.delete(partition);
            if (pending.size === 0) {
              clearTimeout(timer);
              done();
            }
          },
        })
        .catch(fail);
    });
  } finally {
    await consumer.disconnect();
  }
  return messages.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
};

/**
 * A stream's messages on its topic are in order: the first time each version shows up, versions go 1, 2, 3, ...
 * with nothing skipped; a version seen again (re-publish after a crash) carries the same event id.
 */
export const expectPublishedInOrder = (
  messages: readonly ReadMessage[],
  streamId: string,
  stored: StoredEvent[],
): void => {
  const own = messages.filter((m) => m.key === streamId);
  const firstSeen: number[] = [];
  const eventIds = new Map<number, Set<string | undefined>>();
  for (const { headers } of own) {
    const version = Number(headers['stream-version']);
    if (!eventIds.has(version)) firstSeen.push(version);
    eventIds.set(version, (eventIds.get(version) ?? new Set()).add(headers['event-id']));
  }
  expect({ streamId, firstSeen }).toEqual({ streamId, firstSeen: stored.map((e) => e.version) });
  for (const event of stored) {
    expect({ streamId, version: event.version, eventIds: [...(eventIds.get(event.version) ?? [])] }).toEqual({
      streamId,
      version: event.version,
      eventIds: [event.metadata.eventId],
    });
  }
};

// ---- Cosmos DB and MongoDB, read directly ------------------------------------------------------------------

const cosmosAgentInstance = cosmosAgent();
const cosmos = new CosmosClient({
  endpoint: infraEnv.cosmosEndpoint,
  key: infraEnv.cosmosKey,
  agent: cosmosAgentInstance,
  connectionPolicy: { enableEndpointDiscovery: false },
});

/** Documents of one kind (`event`, `tip`, `outbox`, ...) of a container of this run's database. */
export const queryDocuments = async (
  container: string,
  kind: string,
  where = 'true',
  parameters: { name: string; value: string }[] = [],
) => {
  const { resources } = await cosmos
    .database(stackRun)
    .container(container)
    .items.query<Record<string, any>>({
      query: `SELECT * FROM c WHERE c.kind = @kind AND ${where}`,
      parameters: [{ name: '@kind', value: kind }, ...parameters],
    })
    .fetchAll();
  return resources;
};

export const queryEvents = (container: string, where = 'true', parameters: { name: string; value: string }[] = []) =>
  queryDocuments(container, 'event', where, parameters);

/** `<streamId>@<version> <type>` of every event of a container, sorted. */
export const eventKeys = async (container: string): Promise<string[]> =>
  (await queryEvents(container)).map((e) => `${e.streamId}@${e.version} ${e.type}`).sort();

/** Every document of every read-model collection of this run's database, as JSON. */
export const readModelSnapshot = async (): Promise<Record<string, unknown[]>> => {
  const client = new MongoClient(mongodbUrlFor(stackRun), { serverSelectionTimeoutMS: 10_000 });
  await client.connect();
  try {
    const db = client.db(stackRun);
    const snapshot: Record<string, unknown[]> = {};
    for (const { name } of await db.listCollections().toArray()) {
      const docs = await db.collection(name).find().sort({ _id: 1 }).toArray();
      snapshot[name] = JSON.parse(JSON.stringify(docs));
    }
    return snapshot;
  } finally {
    await client.close();
  }
};

// ---- the servers -------------------------------------------------------------------------------------------

/** A local server of `infra/infra.mjs` (`mongodb` is FerretDB; its PostgreSQL is left alone). */
export type InfraServer = 'kafka' | 'mongodb' | 'cosmos';

/**
 * `node infra/infra.mjs up|down [service]`: one server, or with none the whole local stack. Asynchronous, so
 * that clients running in this process keep going while a server starts or stops.
 */
const infra = async (action: 'up' | 'down', service?: InfraServer): Promise<void> => {
  await promisify(execFile)(process.execPath, ['infra/infra.mjs', action, ...(service ? [service] : [])], {
    cwd: repositoryRoot,
    timeout: 180_000,
  });
};

/** Whether this checkout's `infra:up` runs the servers (pid files in .infra/run), not docker compose or a cloud. */
export const infraManagedHere = (): boolean =>
  ['kafka', 'mongodb', 'cosmos'].every((service) =>
    existsSync(resolve(repositoryRoot, '.infra', 'run', `${service}.json`)),
  );

/** Stopping a server under a running benchmark would spoil it: wait until none runs. */
export const waitNoBenchmark = async (timeoutMs = 120_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (spawnSync('pgrep', ['-f', 'dist/bench']).status === 0) {
    if (Date.now() > deadline) throw new Error(`A benchmark (dist/bench) still runs after ${timeoutMs} ms`);
    await sleep(2_000);
  }
};

/** Runs `during` with the server stopped; always starts it again. */
export const withServerDown = async <T>(service: InfraServer, during: () => Promise<T>): Promise<T> => {
  await waitNoBenchmark();
  try {
    await infra('down', service);
    return await during();
  } finally {
    await infra('up', service);
  }
};

/**
 * A crash of one server: SIGKILL to the pid `infra:up` recorded, nothing flushed or closed; resolves once the
 * process is gone. `startServer` brings it back (`infra.mjs up` drops the stale pid file).
 */
export const killServer = async (service: InfraServer): Promise<void> => {
  const { pid } = JSON.parse(readFileSync(resolve(repositoryRoot, '.infra', 'run', `${service}.json`), 'utf8')) as {
    pid: number;
  };
  // Gone, or a zombie nobody reaps (PID 1 of a container may not): either way its ports are closed.
  const alive = (): boolean => {
    try {
      return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
    } catch {
      return false;
    }
  };
  process.kill(pid, 'SIGKILL');
  while (alive()) await sleep(50);
};

/** Starts one server again and waits until it answers its client's probe (as `npm run infra:up` does). */
export const startServer = (service: InfraServer): Promise<void> => infra('up', service);

/**
 * The whole local stack down and up again, as `npm run infra:down` then `npm run infra:up` (every store keeps
 * its data); returns how long the servers were gone.
 */
export const restartInfrastructure = async (): Promise<number> => {
  await waitNoBenchmark();
  const started = Date.now();
  try {
    await infra('down');
  } finally {
    await infra('up');
  }
  return Date.now() - started;
};

/** Committed offsets of consumer groups on topics, as `group topic[partition]` -> offset (-1: none yet). */
export const groupOffsets = async (groupIds: readonly string[], topics: readonly string[]) =>
  withKafkaAdmin(async (admin) => {
    const offsets: Record<string, number> = {};
    for (const groupId of groupIds) {
      for (const { topic, partitions } of await admin.fetchOffsets({ groupId, topics: [...topics] })) {
        for (const { partition, offset } of partitions) offsets[`${groupId} ${topic}[${partition}]`] = Number(offset);
      }
    }
    return offsets;
  });

/** High watermark of every partition of topics, as `topic[partition]` -> offset. */
export const highWatermarks = async (topics: readonly string[]) =>
  withKafkaAdmin(async (admin) => {
    const highs: Record<string, number> = {};
    for (const topic of topics) {
      for (const { partition, high } of await admin.fetchTopicOffsets(topic))
        highs[`${topic}[${partition}]`] = Number(high);
    }
    return highs;
  });

export const statusOf = (r: Response | Error): number | string => ('status' in r ? r.status : r.message);

/** Opens a kafkajs admin client for `work`. */
export const withKafkaAdmin = async <T>(work: (admin: Admin) => Promise<T>): Promise<T> => {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
};

/** Sends raw messages to a topic with a plain producer; returns where each landed. */
export const produceRaw = async (
  topic: string,
  messages: readonly { key: string; value: string; headers: Record<string, string> }[],
): Promise<{ partition: number; offset: string }[]> => {
  const producer = kafka.producer();
  await producer.connect();
  const sent: { partition: number; offset: string }[] = [];
  try {
    for (const message of messages) {
      const [meta] = await producer.send({ topic, acks: -1, messages: [message] });
      sent.push({ partition: meta.partition, offset: meta.baseOffset! });
    }
  } finally {
    await producer.disconnect();
  }
  return sent;
};

export interface Stack {
  readonly orders: ServiceProcess;
  readonly inventory: ServiceProcess;
  readonly d: Deployment;
  /** Waits for each order to leave PENDING and returns what became of it. */
  settle(sku: string, quantity: number, ids: readonly string[], timeoutMs?: number): Promise<TrackedOrder[]>;
  close(): Promise<void>;
}

/**
 * Orders and inventory on this run's topic prefix, Cosmos DB database and MongoDB database, both ready;
 * `extra`: more environment for both (e.g. admission control's bounds).
 */
export const startStack = async (extra: Record<string, string> = {}): Promise<Stack> => {
  const orders = await defineService('orders', reliabilityEnv('orders', extra));
  const inventory = await defineService('inventory', reliabilityEnv('inventory', extra));
  await Promise.all([orders.start(), inventory.start()]);
  console.log(`reliability (${stackRun}, topics ${PREFIX}*): logs in ${orders.logFile} and siblings`);
  const d: Deployment = deploymentOf(orders, inventory);
  return {
    orders,
    inventory,
    d,
    async settle(sku, quantity, ids, timeoutMs = SETTLE_MS) {
      const settled: TrackedOrder[] = [];
      for (const orderId of ids) {
        const { status } = await d.ordersApi.settledOrder(orderId, timeoutMs);
        settled.push({ orderId, sku, quantity, outcome: status as Outcome });
      }
      return settled;
    },
    async close() {
      await stopAll();
      d.store.close();
      cosmos.dispose();
      cosmosAgentInstance?.destroy();
    },
  };
};
