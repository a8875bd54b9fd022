// Projections: events/s applied to MongoDB through the order summary projection's logic, a consumed batch
// at a time (DocumentProjector.applyAll on a MongoReadModelStore collection, as the Kafka consumer calls
// it), against raw mongodb driver bulk writes of the same documents. Streams spread over a few parallel
// workers like Kafka partitions; each worker gets its events interleaved across streams (per-stream order
// kept) in batches, as a fetch brings them. Also: the former path, one applyToDocument per event.
// Run alone: node dist/bench/micro/projection.js
import { randomUUID } from 'node:crypto';
import { MongoClient, type AnyBulkWriteOperation, type CommandStartedEvent } from 'mongodb';
import type { RecordedEvent } from '@app/core';
import { orderStream, type OrderEvent } from '@app/contracts';
import { applyToDocument, DocumentProjector, MongoReadModelStore } from '@app/read-models';
import {
  evolveOrderSummary,
  ORDER_SUMMARIES,
  type OrderSummary,
} from '../../libs/orders/src/application/order-summary/order-summary.read-model.js';
import { Semaphore } from '../../libs/read-models/src/mongo/semaphore.js';
import { mongodbUrlFor, runId, scaled } from '../lib/env.js';
import { orderEvents } from '../lib/fixtures.js';
import { ratioOf, type BenchResult } from '../lib/report.js';
import { isMain, runStandalone } from '../lib/standalone.js';
import { forEachConcurrent, interleaved, medianRate, rates, round, timed, type RoundSample } from '../lib/stats.js';

export interface ProjectionOptions {
  readonly streams?: number;
  readonly eventsPerStream?: number;
  /** Parallel workers, like the partitions of a topic (3 by default, KAFKA_TOPIC_PARTITIONS). */
  readonly partitions?: number;
  /** Events per consumed batch (what one fetch of a partition brings under load). */
  readonly batchSize?: number;
  readonly rounds?: number;
}

type StoredSummary = Omit<OrderSummary, 'id'> & { _id: string };

/** Order streams as the event store records them. */
export const orderStreams = (streams: number, eventsPerStream: number): RecordedEvent[][] =>
  Array.from({ length: streams }, () => {
    const orderId = randomUUID();
    return orderEvents(orderId, eventsPerStream).map((event, i): RecordedEvent => ({
      ...event,
      streamId: orderStream(orderId),
      version: i + 1,
    }));
  });

/**
 * Streams dealt to `partitions` workers; each worker's events interleaved round-robin across its streams
 * (every stream in order), cut into batches of `batchSize`.
 */
const byPartition = (streams: RecordedEvent[][], partitions: number, batchSize: number): RecordedEvent[][][] =>
  Array.from({ length: partitions }, (_, p) => {
    const mine = streams.filter((_, i) => i % partitions === p);
    const events: RecordedEvent[] = [];
    for (let v = 0; mine.some((stream) => v < stream.length); v++) {
      for (const stream of mine) if (stream[v]) events.push(stream[v]!);
    }
    const batches: RecordedEvent[][] = [];
    for (let i = 0; i < events.length; i += batchSize) batches.push(events.slice(i, i + batchSize));
    return batches;
  });

const summaryOf = (current: OrderSummary | undefined, event: RecordedEvent): OrderSummary =>
  ({ ...evolveOrderSummary(current, event as unknown as OrderEvent), version: event.version }) as OrderSummary;

const orderIdOf = (event: RecordedEvent): string => (event.data as { orderId: string }).orderId;

export const projection = async ({
  streams = scaled(240),
  eventsPerStream = 4,
  partitions = 3,
  batchSize = 100,
  rounds = 3,
}: ProjectionOptions = {}): Promise<BenchResult> => {
  const total = streams * eventsPerStream;
  const database = `bench-${runId}-proj`;
  const url = mongodbUrlFor(database);
  // monitorCommands: the store's client reports each command it sends (counted per batch below).
  const monitored = new URL(url);
  monitored.searchParams.set('monitorCommands', 'true');
  const store = new MongoReadModelStore({ url: monitored.toString() });
  const raw = new MongoClient(url, { ignoreUndefined: true });
  try {
    await store.init();
    await raw.connect();
    let collections = 0;
    /** A fresh collection with the read model's indexes (created through the store, as the app does). */
    const freshCollection = async (side: string) => {
      const collection = store.collection<OrderSummary>({
        ...ORDER_SUMMARIES,
        name: `summaries_${side}_${collections++}`,
      });
      await collection.clear(); // waits for the collection's indexes
      return collection;
    };

    // Commands the store's MongoClient sends, by name, while a side runs (the driver's command monitoring).
    const storeClient = store.dataSource.mongoManager.mongoQueryRunner.databaseConnection as unknown as MongoClient;
    let counting: Map<string, number> | undefined;
    storeClient.on('commandStarted', ({ commandName }: CommandStartedEvent) =>
      counting?.set(commandName, (counting.get(commandName) ?? 0) + 1),
    );
    const commands: Record<string, { batches: number; byName: Record<string, number> }> = {};

    const run = async (side: string, work: (batches: RecordedEvent[][]) => Promise<void>): Promise<RoundSample> => {
      const parts = byPartition(orderStreams(streams, eventsPerStream), partitions, batchSize);
      counting = new Map();
      const { ms } = await timed(() => forEachConcurrent(parts, partitions, work));
      commands[side] = { batches: parts.flat().length, byName: Object.fromEntries(counting) };
      counting = undefined;
      return { perSecond: (total / ms) * 1000, ms: round(ms, 0) };
    };

    const rawBulkCommands = new Semaphore(2);
    const samples = await interleaved(
      {
        raw: async () => {
          const native = raw.db(database).collection<StoredSummary>((await freshCollection('raw')).definition.name);
          return run('raw', async (batches) => {
            const written = new Map<string, OrderSummary>(); // what this worker wrote last, per document
            for (const batch of batches) {
              const before = new Map<string, number>();
              const folded = new Map<string, OrderSummary>();
              for (const event of batch) {
                const id = orderIdOf(event);
                const current = folded.get(id) ?? written.get(id);
                if (!before.has(id)) before.set(id, current?.version ?? 0);
                folded.set(id, summaryOf(current, event));
              }
              const operations = [...folded.values()].map(({ id, ...fields }): AnyBulkWriteOperation<StoredSummary> =>
                before.get(id) === 0
                  ? { insertOne: { document: { _id: id, ...fields } } }
                  : { replaceOne: { filter: { _id: id, version: before.get(id)! }, replacement: fields } },
              );
              // In commands of 25 statements, at most two in flight, as the store sends them: FerretDB on
              // PostgreSQL hangs once its pool is taken (see MAX_BULK_OPERATIONS in stored-documents.ts).
              for (let from = 0; from < operations.length; from += 25) {
                const chunk = operations.slice(from, from + 25);
                const result = await rawBulkCommands.run(() => native.bulkWrite(chunk, { ordered: false }));
                if (result.insertedCount + result.matchedCount !== chunk.length) {
                  throw new Error('raw: a guarded write did not match');
                }
              }
              for (const [id, document] of folded) written.set(id, document);
            }
          });
        },
        ours: async () => {
          const collection = await freshCollection('ours');
          const projector = new DocumentProjector(collection, {
            documentId: orderIdOf,
            evolve: (current, event) => evolveOrderSummary(current, event as unknown as OrderEvent),
          });
          return run('ours', async (batches) => {
            for (const batch of batches) {
              const outcomes = await projector.applyAll(batch);
              if (outcomes.some((o) => o !== 'applied')) throw new Error('ours: an event was not applied');
            }
          });
        },
        perEvent: async () => {
          const collection = await freshCollection('perevent');
          return run('perEvent', async (batches) => {
            for (const event of batches.flat()) {
              const outcome = await applyToDocument(collection, orderIdOf(event), event, (current) =>
                evolveOrderSummary(current, event as unknown as OrderEvent),
              );
              if (outcome !== 'applied') throw new Error(`perEvent: ${event.streamId}@${event.version} ${outcome}`);
            }
          });
        },
      },
      { rounds },
    );

    const ours = medianRate(samples.ours);
    const rawRate = medianRate(samples.raw);
    const perEvent = medianRate(samples.perEvent);
    const perBatch = (side: string) => {
      const { batches, byName } = commands[side]!;
      return Object.fromEntries(Object.entries(byName).map(([name, n]) => [name, round(n / batches, 2)]));
    };
    const storeCommandsPerBatch = (side: string) =>
      round(
        Object.entries(commands[side]!.byName)
          .filter(([name]) => name !== 'delete' && name !== 'listIndexes')
          .reduce((sum, [, n]) => sum + n, 0) / commands[side]!.batches,
        2,
      );
    return {
      name: 'projection (order summary -> MongoDB)',
      unit: 'events/s',
      ours: round(ours, 1),
      raw: round(rawRate, 1),
      ratio: ratioOf(ours, rawRate),
      notes:
        `${streams} orders x ${eventsPerStream} events, ${partitions} partitions, batches of ${batchSize}; ` +
        `Mongo commands per batch ${storeCommandsPerBatch('ours')}; one applyToDocument per event (before): ` +
        `${round(perEvent, 1)}/s (ratio ${ratioOf(perEvent, rawRate).toFixed(2)}, ` +
        `${storeCommandsPerBatch('perEvent')} commands per batch)`,
      details: {
        what:
          'ours: DocumentProjector.applyAll per consumed batch (what OrderSummaryProjection.handleBatch does): ' +
          'fold each order of the batch in memory from the documents it remembers (version 1 = new), one ' +
          'writeMany = unordered bulkWrites (insertOne for new documents, replaceOne on {_id, version} for the ' +
          'others: one insert and one update command per chunk) on a MongoReadModelStore collection ' +
          '(TypeORM-owned MongoClient, per-id mutex over the batch, portability check). raw: mongodb driver, ' +
          'the same documents folded per batch, one unordered bulkWrite of insertOne for new documents and ' +
          'replaceOne on {_id, version} for the others, the worker keeping what it wrote. perEvent: the former ' +
          'path, applyToDocument per event (findOne, then insertOne or replaceOne). Same indexes on every ' +
          "collection; a fresh collection per round and side. Commands counted by the driver's command " +
          "monitoring on the store's client (raw uses its own client).",
        streams,
        eventsPerStream,
        events: total,
        partitions,
        batchSize,
        rounds,
        oursPerRound: rates(samples.ours),
        rawPerRound: rates(samples.raw),
        perEvent: { median: round(perEvent, 1), ratio: ratioOf(perEvent, rawRate), perRound: rates(samples.perEvent) },
        mongoCommandsPerBatch: { ours: perBatch('ours'), perEvent: perBatch('perEvent') },
        mongoDatabase: database,
      },
    };
  } finally {
    await raw
      .db(database)
      .dropDatabase()
      .catch(() => undefined);
    await raw.close().catch(() => undefined);
    await store.close().catch(() => undefined);
  }
};

if (isMain(import.meta.url)) runStandalone('micro-projection', () => projection());
