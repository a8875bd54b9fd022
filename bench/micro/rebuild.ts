// Rebuild: events/s replayed from the Cosmos DB event store into a new version of the order summary read model
// on MongoDB by ProjectionReplayer.rebuild (an application context built as apps/tools/src/rebuild-projections.ts
// does), against raw @azure/cosmos reads of the same streams, paged and concurrent like ours, folded in memory
// and written with raw mongodb driver bulk writes. With `liveOrdersPerSecond`, a second application context (the
// orders service: in-process transport, relay, projection) places orders at that rate during every round, so the
// rebuild runs while the service writes both versions. The live service is the built orders app in its own
// process (as `npm run start:services` runs it), fed over HTTP: in this process it would share the rebuild's
// event loop, and on a busy machine its share of the CPU too, which no deployment does.
// Run alone: node dist/bench/micro/rebuild.js [--at-scale]   (--at-scale: 20,000 streams, orders at 20/s)
import { randomUUID } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import { MongoClient } from 'mongodb';
import { loadConfig } from '@app/config';
import { orderStream, ORDER_CATEGORY, type OrderEvent } from '@app/contracts';
import {
  CosmosEventStore,
  EventStore,
  NO_STREAM,
  ProjectionReplayer,
  type EventDocument,
  type OutboxEntry,
} from '@app/event-sourcing';
import { OrdersModule } from '@app/orders';
import { applicationModule, type AppDefinition } from '@app/platform';
import { ReadModelStore } from '@app/read-models';
import {
  evolveOrderSummary,
  ORDER_SUMMARIES,
  type OrderSummary,
} from '../../libs/orders/src/application/order-summary/order-summary.read-model.js';
import { AppProcess } from '../e2e/processes.js';
import { cosmosAppEnv, mongodbUrlFor, runId, scaled } from '../lib/env.js';
import { benchCosmosClient, dropCosmosDatabase, orderEvents } from '../lib/fixtures.js';
import { ratioOf, type BenchResult } from '../lib/report.js';
import { isMain, runStandalone } from '../lib/standalone.js';
import { Semaphore } from '../../libs/read-models/src/mongo/semaphore.js';
import { forEachConcurrent, interleaved, medianRate, rates, round, timed } from '../lib/stats.js';

export interface RebuildOptions {
  readonly streams?: number;
  readonly eventsPerStream?: number;
  readonly rounds?: number;
  /** Orders placed per second by a live orders service during the rebuild rounds (0: none). */
  readonly liveOrdersPerSecond?: number;
}

const PROJECTION = 'orders.order-summary';
/** As the replayer and the Cosmos event store: streams per page, streams per query, queries at once. */
const PAGE_STREAMS = 250;
const STREAMS_PER_QUERY = 100;
const QUERIES_AT_ONCE = 4;
type StoredSummary = Omit<OrderSummary, 'id'> & { _id: string };

const ordersOnly: AppDefinition = {
  name: 'Bench rebuild orders',
  service: 'orders',
  description: '',
  defaultPort: 0,
  contexts: [OrdersModule],
  tags: [],
};

export const rebuild = async ({
  streams = scaled(1_000),
  eventsPerStream = 3,
  rounds = 5,
  liveOrdersPerSecond = 0,
}: RebuildOptions = {}): Promise<BenchResult> => {
  const total = streams * eventsPerStream;
  const databaseId = `bench-${runId}-rebuild`;
  const mongoDatabase = `bench-${runId}-rebuild`;
  const mongoUrl = mongodbUrlFor(mongoDatabase);
  const config = loadConfig(
    {
      ...cosmosAppEnv(databaseId, 'events'),
      MONGODB_URL: mongoUrl,
      APP_ROLE: 'all',
      EVENT_TRANSPORT: 'inprocess',
      LOG_LEVEL: 'warn',
    },
    { port: 0, service: ordersOnly.service },
  );
  // As the rebuild tool: the query role (projections, no relay, no policies), nothing replayed at start.
  const app = await NestFactory.createApplicationContext(
    applicationModule(ordersOnly, {
      ...config,
      eventSourcing: { ...config.eventSourcing, role: 'query', replayProjectionsOnStart: false },
    }),
    { logger: ['error', 'warn'] },
  );
  // The live orders service (commands, relay, projection) on the same stores, in its own process.
  const service = liveOrdersPerSecond
    ? await AppProcess.spawn('orders', 'rebuild-live-orders', {
        PATH: process.env.PATH ?? '',
        ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
        EVENT_STORE: 'cosmos',
        ...cosmosAppEnv(databaseId, 'events'),
        MONGODB_URL: mongoUrl,
        EVENT_TRANSPORT: 'inprocess',
        LOG_LEVEL: 'warn',
        RATE_LIMIT_MAX: '0', // one client address
      })
    : undefined;
  await service?.waitReady();
  let livePlaced = 0;
  let liveFailed = 0;
  /** Places orders over HTTP at the live rate until the returned stop is called. */
  const liveLoad = (): (() => Promise<void>) => {
    if (!service) return async () => {};
    const inFlight = new Set<Promise<void>>();
    const timer = setInterval(() => {
      const call = fetch(`${service.url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          customerId: 'live',
          currency: 'EUR',
          lines: [{ sku: 'APPLE-RED', quantity: 1, unitPrice: 1 }],
        }),
        signal: AbortSignal.timeout(30_000),
      }).then(
        async (response) => {
          await response.arrayBuffer();
          if (response.status === 201) livePlaced++;
          else liveFailed++;
        },
        () => void liveFailed++,
      );
      inFlight.add(call);
      void call.finally(() => inFlight.delete(call));
    }, 1_000 / liveOrdersPerSecond);
    return async () => {
      clearInterval(timer);
      await Promise.all(inFlight);
    };
  };
  const cosmos = benchCosmosClient();
  const mongo = new MongoClient(mongoUrl, { ignoreUndefined: true });
  try {
    await mongo.connect();
    const store = app.get(EventStore, { strict: false });
    if (!(store instanceof CosmosEventStore)) throw new Error('The rebuild benchmark needs the Cosmos event store');
    const replayer = app.get(ProjectionReplayer, { strict: false });
    const readModels = app.get(ReadModelStore, { strict: false });

    // The event store: every order in one append, then its outbox entry removed (as a relay would have).
    await forEachConcurrent(
      Array.from({ length: streams }, () => randomUUID()),
      8,
      async (orderId) => {
        await store.appendToStream(orderStream(orderId), orderEvents(orderId, eventsPerStream), {
          expectedVersion: NO_STREAM,
        });
      },
    );
    for (
      let entries: readonly OutboxEntry[];
      (entries = (await store.outbox.pending({ limit: 500 })).entries).length > 0;
    ) {
      const left = await store.outbox.complete(entries);
      if (left.length > 0) throw new Error(`${left.length} outbox entries could not be completed`);
    }

    // The raw side's collection: the same indexes, created through the store.
    const rawName = `${ORDER_SUMMARIES.name}_raw`;
    await readModels.collection<OrderSummary>({ ...ORDER_SUMMARIES, name: rawName }).clear();
    const rawCollection = mongo.db(mongoDatabase).collection<StoredSummary>(rawName);
    const container = cosmos.database(databaseId).container('events');

    /**
     * Reads every order stream with plain queries: stream ids from the tip query, a page of them at a time,
     * the page's events by queries of STREAMS_PER_QUERY streams (`c.streamId IN (...)`), QUERIES_AT_ONCE at
     * once, sorted by version per stream; `apply` gets a page.
     */
    const rawReplay = async (apply: (streams: EventDocument[][]) => Promise<void>): Promise<number> => {
      let events = 0;
      const tips = container.items.query<{ streamId: string }>(
        {
          query: "SELECT c.streamId FROM c WHERE c.kind = 'tip' AND STARTSWITH(c.streamId, @prefix)",
          parameters: [{ name: '@prefix', value: `${ORDER_CATEGORY}-` }],
        },
        { maxItemCount: 5_000 },
      );
      const readPage = async (streamIds: string[]): Promise<void> => {
        const byStream = new Map<string, EventDocument[]>(streamIds.map((streamId) => [streamId, []]));
        const groups = Array.from({ length: Math.ceil(streamIds.length / STREAMS_PER_QUERY) }, (_, i) =>
          streamIds.slice(i * STREAMS_PER_QUERY, (i + 1) * STREAMS_PER_QUERY),
        );
        await forEachConcurrent(groups, QUERIES_AT_ONCE, async (group) => {
          const { resources } = await container.items
            .query<EventDocument>({
              query: `SELECT * FROM c WHERE c.streamId IN (${group.map((_, i) => `@s${i}`).join(', ')}) AND c.kind = 'event'`,
              parameters: group.map((value, i) => ({ name: `@s${i}`, value })),
            })
            .fetchAll();
          for (const document of resources) byStream.get(document.streamId)!.push(document);
        });
        const page = [...byStream.values()].map((events) => events.sort((a, b) => a.version - b.version));
        await apply(page);
        events += page.reduce((sum, documents) => sum + documents.length, 0);
      };
      let ids: string[] = [];
      while (tips.hasMoreResults()) {
        const { resources = [] } = await tips.fetchNext();
        for (const { streamId } of resources) {
          ids.push(streamId);
          if (ids.length === PAGE_STREAMS) {
            await readPage(ids);
            ids = [];
          }
        }
      }
      if (ids.length > 0) await readPage(ids);
      return events;
    };
    const summaryOf = (current: OrderSummary | undefined, event: EventDocument): OrderSummary =>
      ({
        ...evolveOrderSummary(current, event as unknown as OrderEvent),
        version: event.version,
      }) as OrderSummary;

    /** The live orders placed so far count too (each a stream of one event), before and during the round. */
    const check = async (events: number, side: string, collection = rawCollection) => {
      const documents = await collection.countDocuments();
      if (events < total || documents < streams) {
        throw new Error(`${side}: replayed ${events} events into ${documents} documents, expected ${total}/${streams}`);
      }
    };
    const liveCollection = async () => {
      const pointer = await mongo
        .db(mongoDatabase)
        .collection<{ _id: string; live: number }>('read_model_versions')
        .findOne({ _id: ORDER_SUMMARIES.name });
      const live = pointer?.live ?? 1;
      return mongo
        .db(mongoDatabase)
        .collection<StoredSummary>(live === 1 ? ORDER_SUMMARIES.name : `${ORDER_SUMMARIES.name}__v${live}`);
    };
    const replayMs: number[] = [];

    // Bulk writes as the store sends them on FerretDB: commands of 25, two in flight (see the store).
    const bulkCommands = new Semaphore(2);
    const samples = await interleaved(
      {
        raw: async () => {
          const stopLive = liveLoad();
          const { ms, result } = await timed(async () => {
            await rawCollection.deleteMany({});
            return rawReplay(async (page) => {
              const documents = page.flatMap((events) => {
                let current: OrderSummary | undefined;
                for (const event of events) current = summaryOf(current, event);
                return current ? [current] : [];
              });
              const chunks = Array.from({ length: Math.ceil(documents.length / 25) }, (_, i) =>
                documents.slice(i * 25, i * 25 + 25),
              );
              await Promise.all(
                chunks.map((chunk) =>
                  bulkCommands.run(() =>
                    rawCollection.bulkWrite(
                      chunk.map(({ id, ...fields }) => ({ insertOne: { document: { _id: id, ...fields } } })),
                      { ordered: false },
                    ),
                  ),
                ),
              );
            });
          });
          await stopLive();
          await check(result, 'raw');
          return { perSecond: (result / ms) * 1000, ms: round(ms, 0) };
        },
        // The replay step only (as raw does): the pointer's settle waits before and after are fixed costs,
        // reported apart (totalMsPerRound).
        ours: async (roundIndex: number) => {
          const stopLive = liveLoad();
          let replayStarted = 0;
          let replayEnded = 0;
          const { ms, result } = await timed(() =>
            replayer.rebuild(PROJECTION, undefined, (step) => {
              if (step === 'replaying') replayStarted = performance.now();
              if (step === 'switching') replayEnded = performance.now();
            }),
          );
          await stopLive();
          await check(result.events, 'ours', await liveCollection());
          const replay = replayEnded - replayStarted;
          if (roundIndex >= 0) replayMs.push(round(ms, 0)); // not the warm-up
          return { perSecond: (result.events / replay) * 1000, ms: round(replay, 0) };
        },
      },
      { rounds },
    );

    const ours = medianRate(samples.ours);
    const raw = medianRate(samples.raw);
    return {
      name: `rebuild (Cosmos -> MongoDB order summaries)${liveOrdersPerSecond ? `, ${streams} streams, ${liveOrdersPerSecond} orders/s live` : ''}`,
      unit: 'events/s',
      ours: round(ours, 1),
      raw: round(raw, 1),
      ratio: ratioOf(ours, raw),
      notes:
        `${streams} orders x ${eventsPerStream} events, pages of ${PAGE_STREAMS} streams read by queries of ` +
        `${STREAMS_PER_QUERY} streams, one bulk write per page; the replay step of a blue-green rebuild ` +
        `(whole rebuild with the pointer's settle waits: ${replayMs.join(', ')} ms)` +
        (liveOrdersPerSecond ? `; live: ${livePlaced} orders placed (${liveFailed} failed) during the rounds` : ''),
      details: {
        what:
          `ours: ProjectionReplayer.rebuild('${PROJECTION}') in an application context built like ` +
          'apps/tools/src/rebuild-projections.ts (query role), timed from its replaying step to its switching ' +
          'step: counts the streams (tip query) beside it, fills a new version of the collection: ' +
          `per page of ${PAGE_STREAMS} stream ids (tip query, pages of 5,000) reads the streams ` +
          `(EventStore.readStreamsForReplay: on Cosmos one query per ${STREAMS_PER_QUERY} streams, c.streamId IN (...)), ` +
          'folds them in memory (DocumentProjector) and writes the page as one writeMany (bulk writes of 25, ' +
          'two in flight) while reading the next page. raw: the same tip query and pages, the streams read by ' +
          `the same IN queries, ${QUERIES_AT_ONCE} at a time, with @azure/cosmos; deleteMany, then per ` +
          'page the streams folded in memory and written by mongodb driver bulkWrite insertOne (commands of 25, ' +
          'two in flight), without overlapping reads and writes.',
        streams,
        eventsPerStream,
        events: total,
        rounds,
        liveOrdersPerSecond,
        livePlaced,
        liveFailed,
        totalMsPerRound: replayMs,
        oursPerRound: rates(samples.ours),
        rawPerRound: rates(samples.raw),
        cosmosDatabase: databaseId,
        mongoDatabase,
      },
    };
  } finally {
    await mongo
      .db(mongoDatabase)
      .dropDatabase()
      .catch(() => undefined);
    await mongo.close().catch(() => undefined);
    await service?.stop();
    await app.close();
    await dropCosmosDatabase(cosmos, databaseId);
    cosmos.dispose();
  }
};

/** The rebuild at the scale of a service that ran for a while, while the service places orders at 20/s. */
export const rebuildAtScale = (): Promise<BenchResult> =>
  rebuild({ streams: scaled(20_000), eventsPerStream: 2, rounds: 1, liveOrdersPerSecond: 20 });

if (isMain(import.meta.url)) {
  if (process.argv.includes('--at-scale')) runStandalone('micro-rebuild-at-scale', rebuildAtScale);
  else runStandalone('micro-rebuild', () => rebuild());
}
