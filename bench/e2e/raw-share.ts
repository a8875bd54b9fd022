// The raw drivers' share of one confirmed order, per service: three processes (orders, inventory, shipping)
// that do with bare kafkajs, @azure/cosmos, mongodb and node:http the operations the services' operation
// budget counts per order (probes.ts), chained over Kafka as the workflow is, at the same open-loop rate; CPU
// ms per confirmed order of each process. Nothing of the apps runs: no Nest, no validation, no logging,
// tracing or metrics, no relay bookkeeping; the operations and their order are the services':
//   orders:    POST in -> batch (tip, event, outbox) -> produce -> bulk (outbox delete) -> 201; consumes its own
//              topic (OrderPlaced: Mongo insert; OrderConfirmed: Mongo update, answers the waiting GET) and
//              inventory's (reserved: point read, batch, produce, bulk); GET ?minVersion=2 answered from memory.
//   inventory: consumes orders' OrderPlaced: point read, 2 batches (product, reservation), one produce of 2
//              messages, one bulk; its own topic: Mongo update.
//   shipping:  consumes orders' OrderConfirmed: point read, 2 batches, one produce of 2 messages, one bulk;
//              its own topic: Mongo insert.
// Consumers fetch as the services' do (maxWaitTimeInMs 250, minBytes 1, commits at most once a second).
// Run: npx nest build bench && BENCH_E2E_RATES=10,50 BENCH_E2E_SECONDS=30 node dist/bench/e2e/raw-share.js
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { Container } from '@azure/cosmos';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { benchEnv, mongodbUrlFor, runId } from '../lib/env.js';
import { benchCosmosClient, createEventContainer, dropCosmosDatabase } from '../lib/fixtures.js';
import { isMain } from '../lib/standalone.js';
import { round, sleep } from '../lib/stats.js';
import { AppProcess, cpuSecondsOf } from './processes.js';

export const RAW_ROLES = ['orders', 'inventory', 'shipping'] as const;
type Role = (typeof RAW_ROLES)[number];

/** A redelivered insert (at least once): already applied. */
const ignoreDuplicate = (error: { code?: number }) => {
  if (error.code !== 11000) throw error;
};

const scope = (id: string) => ({ database: `bench_raw_${id}`, topic: (role: Role) => `bench-raw-${id}.${role}` });

/** One child process: the bare drivers doing one service's share (see the top of this file). */
const runRole = async (role: Role, id: string): Promise<void> => {
  const { database, topic } = scope(id);
  const container: Container = await createEventContainer(benchCosmosClient(), database, `${role}-events`);
  const mongo = await new MongoClient(mongodbUrlFor(database)).connect();
  const view = mongo.db(database).collection<{ _id: string; version: number }>(`${role}-view`);
  const kafka = new Kafka({ clientId: `raw-${role}`, brokers: benchEnv.kafkaBrokers, logLevel: logLevel.NOTHING });
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const consumer: Consumer = kafka.consumer({
    groupId: `raw-${id}-${role}`,
    maxWaitTimeInMs: 250,
    minBytes: 1,
    maxBytesPerPartition: 1024 * 1024,
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
  });
  await consumer.connect();

  /** An append as the event store writes it: tip (create or replace), the events, one outbox entry. */
  const append = async (streamId: string, events: number, tip: 'create' | 'replace') => {
    const at = Date.now();
    const operations = [
      // every stream of this model is new: the tip is created (a replace with ifMatch costs the same request)
      { operationType: 'Create', resourceBody: { id: 'tip', streamId, version: events, tip } },
      ...Array.from({ length: events }, (_, i) => ({
        operationType: 'Create',
        resourceBody: { id: `${at}-${i}`, streamId, type: 'Event', data: { at, i, role } },
      })),
      { operationType: 'Create', resourceBody: { id: `outbox-${at}`, streamId, kind: 'outbox' } },
    ];
    const response = await container.items.batch(operations as never, streamId);
    // 409: a redelivery of an append that was made (at least once, as the services' idempotent appends)
    if (response.code !== 200 && response.code !== 409) throw new Error(`batch ${streamId}: ${response.code}`);
    return { id: `outbox-${at}`, streamId };
  };
  const publishAndComplete = async (entries: { id: string; streamId: string }[], orderId: string) => {
    await producer.send({
      topic: topic(role),
      acks: -1,
      messages: entries.map((e) => ({ key: orderId, value: JSON.stringify({ orderId, role, streamId: e.streamId }) })),
    });
    await container.items.executeBulkOperations(
      entries.map((e) => ({ operationType: 'Delete', id: e.id, partitionKey: e.streamId })) as never,
    );
  };
  const pointRead = (streamId: string) => container.item('tip', streamId).read();

  const confirmed = new Map<string, () => void>();
  const done = new Set<string>();
  const onMessage = async (from: Role, orderId: string, kind: string) => {
    if (from === role) {
      // own events: the read model's write (the projection)
      if (role === 'orders' && kind === 'confirmed') {
        await view.updateOne({ _id: orderId }, { $set: { status: 'CONFIRMED' }, $inc: { version: 1 } });
        done.add(orderId);
        confirmed.get(orderId)?.();
      } else if (role === 'inventory')
        await view.updateOne({ _id: orderId }, { $inc: { version: 1 } }, { upsert: true });
      else await view.insertOne({ _id: orderId, version: 1 }).catch(ignoreDuplicate);
      return;
    }
    // the workflow step of this role
    await pointRead(`${role}-${orderId}`).catch(() => undefined);
    if (role === 'orders') {
      const entry = await append(`order-${orderId}`, 1, 'replace');
      await publishAndComplete([{ ...entry, kind: 'confirmed' } as never], orderId);
      return;
    }
    const first = await append(`${role}-a-${orderId}`, 1, 'replace');
    const second = await append(`${role}-b-${orderId}`, 1, 'create');
    await publishAndComplete([first, second], orderId);
  };
  const upstream: Role | undefined = role === 'inventory' ? 'orders' : role === 'shipping' ? 'orders' : 'inventory';
  await consumer.subscribe({ topics: [...new Set([topic(role), topic(upstream)])], fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: 6,
    autoCommitInterval: 1000,
    eachBatch: async ({ batch, resolveOffset }) => {
      const from = RAW_ROLES.find((r) => topic(r) === batch.topic)!;
      // the batch's orders side by side (each order's messages are on its own streams), as the services'
      // consumers run a batch's streams concurrently
      await Promise.all(
        batch.messages.map(async (message) => {
          const event = JSON.parse(message.value!.toString()) as { orderId: string; streamId: string };
          const kind = event.streamId.startsWith('order-') && from === 'orders' && role === 'orders' ? 'confirmed' : '';
          // inventory reacts to placements, shipping to confirmations: both on the orders topic; a projection
          // writes once per order (its second append's event)
          const wanted =
            (from === role && (role === 'orders' || event.streamId.startsWith(`${role}-b-`))) ||
            (role === 'inventory' && event.streamId.startsWith('placed-')) ||
            (role === 'shipping' && event.streamId.startsWith('order-')) ||
            (role === 'orders' && from === 'inventory' && event.streamId.startsWith('inventory-b-'));
          if (wanted) await onMessage(from, event.orderId, kind);
        }),
      ).catch((error: unknown) => {
        console.error(role, error);
        throw error;
      });
      resolveOffset(batch.lastOffset());
    },
  });

  const readBody = async (request: IncomingMessage) => {
    let body = '';
    for await (const chunk of request) body += String(chunk);
    return body;
  };
  const server = createServer((request, response) => {
    void (async () => {
      if (request.method === 'POST') {
        const { orderId } = JSON.parse(await readBody(request)) as { orderId: string };
        const entry = await append(`placed-${orderId}`, 1, 'create');
        await publishAndComplete([entry], orderId);
        response
          .writeHead(201, { 'content-type': 'application/json' })
          .end(JSON.stringify({ id: orderId, version: 1 }));
        return;
      }
      if (request.url === '/health/ready') {
        response.writeHead(200).end('ok');
        return;
      }
      const orderId = request.url!.split('/')[2]!.split('?')[0]!;
      if (!done.has(orderId)) await new Promise<void>((resolve) => confirmed.set(orderId, resolve));
      confirmed.delete(orderId);
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: orderId, version: 2 }));
    })().catch((error: Error) => {
      console.error(error);
      response.writeHead(500).end(error.message);
    });
  });
  server.listen(Number(process.env.PORT), '127.0.0.1');
  process.once('SIGTERM', () => {
    void Promise.allSettled([consumer.disconnect(), producer.disconnect(), mongo.close()]).then(() => process.exit(0));
  });
};

export interface RawWindow {
  readonly rate: number;
  readonly confirmed: number;
  readonly cpuMsPerOrder: Record<Role, number>;
  /** Requests per confirmed order of each process (bench/lib/op-counter.mjs, as for the services). */
  readonly perOrder: Record<Role, Record<string, Record<string, number>>>;
}

/** Open-loop orders at `rate`/s for `seconds`: POST, then GET until confirmed; returns the confirmed count. */
const load = async (url: string, rate: number, seconds: number): Promise<number> => {
  let confirmed = 0;
  let failure: string | undefined;
  const pending: Promise<void>[] = [];
  const started = Date.now();
  for (let i = 0; i < rate * seconds; i++) {
    const due = started + (i * 1000) / rate;
    if (due > Date.now()) await sleep(due - Date.now());
    const orderId = randomUUID();
    pending.push(
      (async () => {
        const placed = await fetch(`${url}/orders`, { method: 'POST', body: JSON.stringify({ orderId }) });
        await placed.text();
        const read = await fetch(`${url}/orders/${orderId}?minVersion=2`, { signal: AbortSignal.timeout(30_000) });
        await read.text();
        if (read.status === 200) confirmed++;
        else failure ??= `GET ${read.status}`;
      })().catch((error: Error) => {
        failure ??= error.message;
      }),
    );
  }
  await Promise.all(pending);
  if (failure) console.error(`raw drivers: ${rate * seconds - confirmed} orders not confirmed, first: ${failure}`);
  return confirmed;
};

/** Starts the three raw processes, runs each rate once, stops them; CPU ms per confirmed order per process. */
export const runRawShare = async (rates: readonly number[], seconds: number, log = console.error) => {
  const id = `${runId}_${Date.now().toString(36)}`;
  const { database, topic } = scope(id);
  const admin = new Kafka({ brokers: benchEnv.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: RAW_ROLES.map((r) => ({ topic: topic(r), numPartitions: 3 })) });
  const processes: Partial<Record<Role, AppProcess>> = {};
  const windows: RawWindow[] = [];
  try {
    for (const role of RAW_ROLES)
      processes[role] = await AppProcess.spawnScript(
        [import.meta.filename, 'child', role, id],
        `raw-${role}`,
        benchEnvOf(),
      );
    for (const role of RAW_ROLES) await processes[role]!.waitReady(60_000);
    const url = processes.orders!.url;
    // warm-up: connections and group joins (the consumers join after the HTTP server listens)
    for (let tries = 0; tries < 20 && (await load(url, 5, 2)) < 10; tries++) await sleep(1_000);
    for (const rate of rates) {
      await load(url, rate, 5);
      const before = Object.fromEntries(RAW_ROLES.map((r) => [r, cpuSecondsOf(processes[r]!.pid)]));
      const opsBefore = Object.fromEntries(RAW_ROLES.map((r) => [r, processes[r]!.ops()]));
      const confirmed = await load(url, rate, seconds);
      const cpuMsPerOrder = Object.fromEntries(
        RAW_ROLES.map((r) => [r, round(((cpuSecondsOf(processes[r]!.pid) - before[r]!) * 1000) / confirmed, 2)]),
      ) as Record<Role, number>;
      await sleep(600); // the op counters flush every 250 ms
      const perOrder = Object.fromEntries(
        RAW_ROLES.map((r) => {
          const after = processes[r]!.ops();
          const groups = (['cosmos', 'mongo', 'kafka'] as const).map((group) => {
            const now: Record<string, number> = after[group] ?? {};
            const then: Record<string, number> = opsBefore[r]![group] ?? {};
            return [
              group,
              Object.fromEntries(Object.keys(now).map((k) => [k, round((now[k]! - (then[k] ?? 0)) / confirmed, 2)])),
            ];
          });
          return [r, Object.fromEntries(groups)];
        }),
      ) as RawWindow['perOrder'];
      windows.push({ rate, confirmed, cpuMsPerOrder, perOrder });
      log(`raw drivers ${rate}/s: ${confirmed} confirmed, CPU ms/order ${JSON.stringify(cpuMsPerOrder)}`);
      log(`  per order: ${JSON.stringify(perOrder)}`);
    }
  } finally {
    await Promise.all(Object.values(processes).map((p) => p.stop(10_000)));
    await admin.deleteTopics({ topics: RAW_ROLES.map(topic) }).catch(() => undefined);
    await admin.disconnect();
    await dropCosmosDatabase(benchCosmosClient(), database);
    const mongo = new MongoClient(mongodbUrlFor(database));
    await mongo
      .db(database)
      .dropDatabase()
      .catch(() => undefined);
    await mongo.close();
  }
  return windows;
};

const benchEnvOf = (): Record<string, string> =>
  Object.fromEntries(
    ['PATH', 'KAFKA_BROKERS', 'MONGODB_URL', 'COSMOS_ENDPOINT', 'COSMOS_KEY', 'COSMOS_CA_FILE', 'TMPDIR']
      .filter((name) => process.env[name])
      .map((name) => [name, process.env[name]!]),
  );

if (process.argv[2] === 'child') {
  runRole(process.argv[3] as Role, process.argv[4]!).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else if (isMain(import.meta.url)) {
  const rates = (process.env.BENCH_E2E_RATES ?? '10,25,50').split(',').map(Number);
  runRawShare(rates, Number(process.env.BENCH_E2E_SECONDS ?? 30))
    .then((windows) => {
      console.log(JSON.stringify(windows, null, 2));
      process.exit(0);
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
