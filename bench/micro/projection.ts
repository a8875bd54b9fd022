// Projections: events/s applied to MongoDB through the order summary projection's logic (applyToDocument on
// a MongoReadModelStore collection), against raw mongodb driver writes of the same documents. Sequential per
// stream, streams spread over a few parallel workers like Kafka partitions.
// Run alone: node dist/bench/micro/projection.js
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import type { RecordedEvent } from '@app/core';
import { orderStream, type OrderEvent } from '@app/contracts';
import { applyToDocument, MongoReadModelStore } from '@app/read-models';
import {
  evolveOrderSummary,
  ORDER_SUMMARIES,
  type OrderSummary,
} from '../../libs/orders/src/application/order-summary/order-summary.read-model.js';
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

/** Streams dealt to `partitions` workers; each worker applies its streams one after another, in order. */
const byPartition = (streams: RecordedEvent[][], partitions: number): RecordedEvent[][][] =>
  Array.from({ length: partitions }, (_, p) => streams.filter((_, i) => i % partitions === p));

const summaryOf = (current: OrderSummary | undefined, event: RecordedEvent): OrderSummary =>
  ({ ...evolveOrderSummary(current, event as unknown as OrderEvent), version: event.version }) as OrderSummary;

const orderIdOf = (event: RecordedEvent): string => (event.data as { orderId: string }).orderId;

export const projection = async ({
  streams = scaled(60),
  eventsPerStream = 4,
  partitions = 3,
  rounds = 3,
}: ProjectionOptions = {}): Promise<BenchResult> => {
  const total = streams * eventsPerStream;
  const database = `bench-${runId}-proj`;
  const url = mongodbUrlFor(database);
  const store = new MongoReadModelStore({ url });
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

    const run = async (work: (partition: RecordedEvent[][]) => Promise<void>): Promise<RoundSample> => {
      const parts = byPartition(orderStreams(streams, eventsPerStream), partitions);
      const { ms } = await timed(() => forEachConcurrent(parts, partitions, work));
      return { perSecond: (total / ms) * 1000, ms: round(ms, 0) };
    };

    const samples = await interleaved(
      {
        raw: async () => {
          const native = raw.db(database).collection<StoredSummary>((await freshCollection('raw')).definition.name);
          return run(async (partition) => {
            for (const stream of partition) {
              let current: OrderSummary | undefined;
              for (const event of stream) {
                const { id, ...fields } = summaryOf(current, event);
                if (event.version === 1) {
                  await native.insertOne({ _id: id, ...fields });
                } else {
                  const { matchedCount } = await native.replaceOne({ _id: id, version: event.version - 1 }, fields);
                  if (matchedCount !== 1) throw new Error(`raw: ${id}@${event.version - 1} not found`);
                }
                current = { id, ...fields };
              }
            }
          });
        },
        ours: async () => {
          const collection = await freshCollection('ours');
          return run(async (partition) => {
            for (const stream of partition) {
              for (const event of stream) {
                const outcome = await applyToDocument(collection, orderIdOf(event), event, (current) =>
                  evolveOrderSummary(current, event as unknown as OrderEvent),
                );
                if (outcome !== 'applied') throw new Error(`ours: ${event.streamId}@${event.version} ${outcome}`);
              }
            }
          });
        },
        rawWithRead: async () => {
          const native = raw.db(database).collection<StoredSummary>((await freshCollection('rawread')).definition.name);
          return run(async (partition) => {
            for (const stream of partition) {
              for (const event of stream) {
                const stored = await native.findOne({ _id: orderIdOf(event) });
                const current = stored ? ({ ...stored, id: stored._id } as unknown as OrderSummary) : undefined;
                const { id, ...fields } = summaryOf(current, event);
                if (event.version === 1) {
                  await native.insertOne({ _id: id, ...fields });
                } else {
                  const { matchedCount } = await native.replaceOne({ _id: id, version: event.version - 1 }, fields);
                  if (matchedCount !== 1) throw new Error(`rawWithRead: ${id}@${event.version - 1} not found`);
                }
              }
            }
          });
        },
      },
      { rounds },
    );

    const ours = medianRate(samples.ours);
    const rawRate = medianRate(samples.raw);
    const withRead = medianRate(samples.rawWithRead);
    return {
      name: 'projection (order summary -> MongoDB)',
      unit: 'events/s',
      ours: round(ours, 1),
      raw: round(rawRate, 1),
      ratio: ratioOf(ours, rawRate),
      notes:
        `${streams} orders x ${eventsPerStream} events, ${partitions} partitions; raw with a findOne per event: ` +
        `${round(withRead, 1)}/s (ours/that ${ratioOf(ours, withRead).toFixed(2)})`,
      details: {
        what:
          'ours: applyToDocument (get, version checks, evolveOrderSummary, replace = insertOne for v1 / ' +
          'replaceOne on {_id, version}) on a MongoReadModelStore collection (TypeORM-owned MongoClient, ' +
          'per-id mutex, portability check). raw: mongodb driver, the same documents: insertOne for v1, ' +
          'replaceOne filtered on {_id, version: v-1} after, the worker keeping the last document it wrote ' +
          '(one round trip per event). rawWithRead: findOne then the same write (two round trips per event, ' +
          'like applyToDocument). Same indexes on every collection; a fresh collection per round and side.',
        streams,
        eventsPerStream,
        events: total,
        partitions,
        rounds,
        oursPerRound: rates(samples.ours),
        rawPerRound: rates(samples.raw),
        rawWithRead: {
          median: round(withRead, 1),
          ratio: ratioOf(ours, withRead),
          perRound: rates(samples.rawWithRead),
        },
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
