// Append + relay at scale: commands/s of one append handed to the relay until Kafka acknowledged it, on an
// empty event-store container and on one that already holds BENCH_SCALE x 20,000 events. The cost per
// command must not depend on what is stored, so the ratio filled / empty should stay near 1. The raw side
// does the same work with the drivers (a Cosmos batch of the same documents, then a kafkajs send) on the
// filled container. Run alone: node dist/bench/micro/relay-at-scale.js
import { randomUUID } from 'node:crypto';
import { BulkOperationType, type Container, type JSONObject, type OperationInput } from '@azure/cosmos';
import { Kafka } from 'kafkajs';
import type { RecordedEvent } from '@app/core';
import {
  CosmosEventStore,
  EventPublisher,
  NO_STREAM,
  OutboxRelay,
  type EventStore,
  type EventToAppend,
} from '@app/event-sourcing';
import { encodeEvent, KafkaEventPublisher, kafkaClientConfig } from '@app/messaging';
import { orderStream } from '@app/contracts';
import { runId, scaled } from '../lib/env.js';
import {
  benchCosmosClient,
  benchOrderTopic,
  createEventContainer,
  dropCosmosDatabase,
  orderEvents,
  rawBenchProducer,
} from '../lib/fixtures.js';
import { ratioOf, type BenchResult } from '../lib/report.js';
import { isMain, runStandalone } from '../lib/standalone.js';
import {
  closedLoop,
  interleaved,
  median,
  medianRate,
  rates,
  round,
  type LoadResult,
  type RoundSample,
} from '../lib/stats.js';

export interface RelayAtScaleOptions {
  /** Events already stored in the filled container. */
  readonly storedEvents?: number;
  readonly concurrency?: number;
  readonly roundMs?: number;
  readonly rounds?: number;
}

/** Our Kafka publisher, telling each waiting command when its stream's events were acknowledged. */
class SignallingPublisher extends EventPublisher {
  readonly #waiting = new Map<string, () => void>();

  constructor(private readonly kafka: KafkaEventPublisher) {
    super();
  }

  published(streamId: string): Promise<void> {
    return new Promise((resolve) => this.#waiting.set(streamId, resolve));
  }

  override async publish(events: readonly RecordedEvent[]): Promise<void> {
    await this.kafka.publish(events);
    for (const { streamId } of events) {
      this.#waiting.get(streamId)?.();
      this.#waiting.delete(streamId);
    }
  }
}

/** Writes `events` events straight into the container: streams of 98 events, one batch each, no outbox. */
const prefill = async (container: Container, events: number): Promise<void> => {
  const streams = Math.ceil(events / 98);
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let s = next++; s < streams; s = next++) {
        const orderId = randomUUID();
        const streamId = orderStream(orderId);
        const count = Math.min(98, events - s * 98);
        const operations: OperationInput[] = [
          {
            operationType: BulkOperationType.Create,
            partitionKey: streamId,
            resourceBody: { id: 'tip', streamId, kind: 'tip', version: count, updatedAt: new Date().toISOString() },
          },
          ...orderEvents(orderId, count).map((event, i): OperationInput => ({
            operationType: BulkOperationType.Create,
            partitionKey: streamId,
            resourceBody: {
              id: `ev-${i + 1}`,
              streamId,
              kind: 'event',
              version: i + 1,
              ...event,
            } as unknown as JSONObject,
          })),
        ];
        const response = await container.items.batch(operations, streamId);
        if ((response.result ?? []).some((r) => r.statusCode >= 400)) throw new Error('prefill batch failed');
      }
    }),
  );
};

const sample = (load: LoadResult): RoundSample => ({
  perSecond: load.perSecond,
  ops: load.ops,
  errors: load.errors,
  p50Ms: load.latencyMs.p50,
  p99Ms: load.latencyMs.p99,
  ...(load.firstError ? { firstError: load.firstError } : {}),
});

export const relayAtScale = async ({
  storedEvents = scaled(20_000),
  concurrency = 4,
  roundMs = 3_000,
  rounds = 5,
}: RelayAtScaleOptions = {}): Promise<BenchResult> => {
  const { kafka, topic } = await benchOrderTopic();
  const databaseId = `bench-${runId}-scale`;
  const cosmos = benchCosmosClient();
  const kafkaPublisher = new KafkaEventPublisher(kafka);
  const publisher = new SignallingPublisher(kafkaPublisher);
  const producer = rawBenchProducer(kafka);
  const relays: OutboxRelay[] = [];
  try {
    await kafkaPublisher.connect();
    await producer.connect();
    const empty = await createEventContainer(cosmos, databaseId, 'empty');
    const filled = await createEventContainer(cosmos, databaseId, 'filled');
    const started = Date.now();
    await prefill(filled, storedEvents);
    const prefillMs = Date.now() - started;

    /** A relay holding the lease of its own container, as the command side runs it. */
    const relayOn = async (container: Container): Promise<{ store: EventStore; relay: OutboxRelay }> => {
      const store = new CosmosEventStore(container);
      const relay = new OutboxRelay(store, publisher, {
        pollIntervalMs: 1_000,
        recoveryIntervalMs: 30_000,
        batchSize: 100,
        concurrency: 8,
        maxBackoffMs: 1_000,
        lease: { name: 'outbox-relay', owner: `bench-${container.id}`, ttlMs: 10_000 },
      });
      relays.push(relay);
      relay.start();
      await relay.drain();
      return { store, relay };
    };
    const stores = { empty: await relayOn(empty), filled: await relayOn(filled) };

    /** One command's write: a new order stream with its first event, appended, then relayed to Kafka. */
    const command =
      ({ store, relay }: { store: EventStore; relay: OutboxRelay }) =>
      async (): Promise<void> => {
        const orderId = randomUUID();
        const streamId = orderStream(orderId);
        const done = publisher.published(streamId);
        const result = await store.appendToStream(streamId, orderEvents(orderId, 1), { expectedVersion: NO_STREAM });
        relay.appended(result);
        await Promise.race([
          done,
          new Promise((_, reject) => setTimeout(() => reject(new Error('not relayed within 15 s')), 15_000).unref()),
        ]);
      };

    const rawCommand = async (): Promise<void> => {
      const orderId = randomUUID();
      const streamId = orderStream(orderId);
      const [event] = orderEvents(orderId, 1) as [EventToAppend];
      const now = new Date().toISOString();
      const recorded: RecordedEvent = { streamId, version: 1, ...event };
      const response = await filled.items.batch(
        [
          {
            operationType: BulkOperationType.Create,
            partitionKey: streamId,
            resourceBody: { id: 'tip', streamId, kind: 'tip', version: 1, updatedAt: now },
          },
          {
            operationType: BulkOperationType.Create,
            partitionKey: streamId,
            resourceBody: { id: 'ev-1', kind: 'event', ...recorded } as unknown as JSONObject,
          },
          {
            operationType: BulkOperationType.Create,
            partitionKey: streamId,
            resourceBody: { id: 'ob-1', streamId, kind: 'outbox', fromVersion: 1, toVersion: 1, createdAt: now },
          },
        ],
        streamId,
      );
      if ((response.result ?? []).some((r) => r.statusCode >= 400)) throw new Error('raw batch failed');
      await producer.send({ topic, acks: -1, messages: [encodeEvent(recorded)] });
    };

    const load = { concurrency, durationMs: roundMs };
    const warmup = { concurrency, durationMs: Math.min(roundMs, 1_000) };
    const samples = await interleaved(
      {
        empty: async (r) => sample(await closedLoop(r < 0 ? warmup : load, command(stores.empty))),
        filled: async (r) => sample(await closedLoop(r < 0 ? warmup : load, command(stores.filled))),
        rawFilled: async (r) => sample(await closedLoop(r < 0 ? warmup : load, rawCommand)),
      },
      { rounds },
    );

    const emptyRate = medianRate(samples.empty);
    const filledRate = medianRate(samples.filled);
    const raw = medianRate(samples.rawFilled);
    const p50 = (side: RoundSample[]) => round(median(side.map((s) => s.p50Ms as number)), 2);
    return {
      name: `append + relay with ${storedEvents.toLocaleString('en')} events stored`,
      unit: 'commands/s',
      ours: round(filledRate, 1),
      raw: round(raw, 1),
      ratio: ratioOf(filledRate, raw),
      notes:
        `${concurrency} clients, new stream per command, until Kafka acknowledged; empty container: ` +
        `${round(emptyRate, 1)}/s, filled / empty ${ratioOf(filledRate, emptyRate).toFixed(2)}; p50 ` +
        `${p50(samples.empty)} ms empty, ${p50(samples.filled)} ms filled`,
      details: {
        what:
          'ours: CosmosEventStore.appendToStream (one batch: tip, event, outbox entry), then ' +
          'OutboxRelay.appended (the fast path) with KafkaEventPublisher, timed until Kafka acknowledged the ' +
          `event; the relays run as in the app (lease, recovery every 30 s). "filled" is a container holding ` +
          `${storedEvents} events written beforehand (not timed), "empty" one without. raw: a Cosmos batch of ` +
          'the same three documents and a kafkajs send (idempotent, acks -1) of the same message, on the ' +
          'filled container.',
        storedEvents,
        prefillMs,
        concurrency,
        roundMs,
        rounds,
        filledOverEmpty: ratioOf(filledRate, emptyRate),
        empty: { median: round(emptyRate, 1), perRound: rates(samples.empty), rounds: samples.empty },
        filled: { median: round(filledRate, 1), perRound: rates(samples.filled), rounds: samples.filled },
        rawFilled: { median: round(raw, 1), perRound: rates(samples.rawFilled), rounds: samples.rawFilled },
      },
    };
  } finally {
    for (const relay of relays) await relay.stop().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await kafkaPublisher.onApplicationShutdown().catch(() => undefined);
    await dropCosmosDatabase(cosmos, databaseId);
    cosmos.dispose();
    const admin = new Kafka(kafkaClientConfig(kafka, `${kafka.clientId}-admin`)).admin();
    await admin
      .connect()
      .then(() => admin.deleteTopics({ topics: [topic] }))
      .catch(() => undefined)
      .finally(() => admin.disconnect());
  }
};

if (isMain(import.meta.url)) runStandalone('micro-relay-at-scale', () => relayAtScale());
