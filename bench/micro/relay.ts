// Relay: events/s moved from the outbox to Kafka by OutboxRelay + KafkaEventPublisher, against a raw kafkajs
// producer (idempotent, acks -1) sending the same messages in order per stream. Two paths: the fast path
// (append results handed over from memory, as after every command: publish + outbox removal, no read) and
// the recovery scan (a filled outbox drained page by page). Also the recovery scan on an in-memory event
// store, to tell the Cosmos read/delete cost from the Kafka cost.
// Run alone: node dist/bench/micro/relay.js
import { randomUUID } from 'node:crypto';
import type { RecordedEvent } from '@app/core';
import { Kafka } from 'kafkajs';
import {
  CosmosEventStore,
  InMemoryEventStore,
  NO_STREAM,
  OutboxRelay,
  type AppendResult,
  type EventStore,
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
import { forEachConcurrent, interleaved, medianRate, rates, round, timed, type RoundSample } from '../lib/stats.js';

export interface RelayOptions {
  /** Streams per round. */
  readonly streams?: number;
  /** Events per stream, each appended on its own (one outbox entry per event, as one command each). */
  readonly eventsPerStream?: number;
  readonly rounds?: number;
  /** The Kafka-only sides (raw, in-memory store) are fast: they repeat the work this often per round. */
  readonly fastRepeats?: number;
}

const relayOptions = (owner: string) => ({
  pollIntervalMs: 600_000, // no poll: drain() and appended() drive it
  recoveryIntervalMs: 600_000,
  batchSize: 100, // RELAY_BATCH_SIZE default
  concurrency: 8, // RELAY_CONCURRENCY default
  maxBackoffMs: 1_000,
  lease: { name: 'outbox-relay', owner, ttlMs: 60_000 },
});

/** Appends every stream's events one append at a time (streams in parallel); returns the append results. */
const fill = async (store: EventStore, streams: number, eventsPerStream: number): Promise<AppendResult[]> => {
  const recorded: AppendResult[] = [];
  await forEachConcurrent(
    Array.from({ length: streams }, () => randomUUID()),
    8,
    async (orderId) => {
      const streamId = orderStream(orderId);
      let version = 0;
      let head: AppendResult['head'];
      for (const event of orderEvents(orderId, eventsPerStream)) {
        const result = await store.appendToStream(streamId, [event], {
          expectedVersion: version === 0 ? NO_STREAM : version,
          ...(head ? { head } : {}), // the tip this append replaces: no read of it
        });
        ({ nextExpectedVersion: version, head } = result);
        recorded.push(result);
      }
    },
  );
  return recorded;
};

export const relay = async ({
  streams = scaled(40),
  eventsPerStream = 10,
  rounds = 3,
  fastRepeats = 3,
}: RelayOptions = {}): Promise<BenchResult> => {
  const total = streams * eventsPerStream;
  const { kafka, topic } = await benchOrderTopic();
  const databaseId = `bench-${runId}-relay`;
  const cosmos = benchCosmosClient();
  const publisher = new KafkaEventPublisher(kafka);
  const producer = rawBenchProducer(kafka);
  try {
    await publisher.connect();
    await producer.connect();

    // Events for the raw side, as the store would record them (same shapes and sizes).
    const recordedLike = (): RecordedEvent[][] =>
      Array.from({ length: streams }, () => {
        const orderId = randomUUID();
        return orderEvents(orderId, eventsPerStream).map((e, i) => ({
          ...e,
          streamId: orderStream(orderId),
          version: i + 1,
        }));
      });

    /** Our relay draining a filled store; verifies that nothing is left. */
    const drainRound = async (store: EventStore, roundNo: number, side: string): Promise<RoundSample> => {
      const relay = new OutboxRelay(store, publisher, relayOptions(`bench-${side}-${roundNo}`));
      const { ms } = await timed(() => relay.drain());
      const left = (await store.outbox.pending({ limit: 1 })).entries;
      if (left.length > 0 || relay.pendingFailures > 0) {
        throw new Error(`${side}: relay stopped with entries left (${relay.pendingFailures} streams failing)`);
      }
      await relay.stop();
      return { perSecond: (total / ms) * 1000, ms };
    };

    /**
     * The fast path: the relay holds the lease and has scanned the outbox; the appends (not timed) hand
     * their results over as the repository does after each command. Timed: publish + outbox removal.
     */
    const fastPathRound = async (store: EventStore, roundNo: number): Promise<RoundSample> => {
      const relay = new OutboxRelay(store, publisher, relayOptions(`bench-fast-${roundNo}`));
      await relay.drain();
      const results = await fill(store, streams, eventsPerStream);
      const { ms } = await timed(async () => {
        for (const result of results) relay.appended(result);
        await relay.idle();
      });
      const left = (await store.outbox.pending({ limit: 1 })).entries;
      if (left.length > 0 || relay.pendingFailures > 0) {
        throw new Error(`fast path: entries left (${relay.pendingFailures} streams failing)`);
      }
      await relay.stop();
      return { perSecond: (total / ms) * 1000, ms };
    };

    /** The same messages with the raw producer: one send per outbox entry, in order per stream. */
    const rawSend = async (streamsInFlight: number): Promise<RoundSample> => {
      let ms = 0;
      for (let i = 0; i < fastRepeats; i++) {
        const events = recordedLike();
        ms += (
          await timed(() =>
            forEachConcurrent(events, streamsInFlight, async (stream) => {
              for (const event of stream) {
                await producer.send({ topic, acks: -1, messages: [encodeEvent(event)] });
              }
            }),
          )
        ).ms;
      }
      return { perSecond: ((total * fastRepeats) / ms) * 1000, ms: round(ms, 0) };
    };

    let fillMs = 0;
    const samples = await interleaved(
      {
        raw: () => rawSend(streams),
        ours: async (r) => {
          const container = await createEventContainer(cosmos, databaseId, `relay-${r < 0 ? 'w' : r}`);
          const store = new CosmosEventStore(container);
          fillMs += (await timed(() => fill(store, streams, eventsPerStream))).ms;
          try {
            return await drainRound(store, r, 'cosmos');
          } finally {
            await container.delete().catch(() => undefined);
          }
        },
        oursFastPath: async (r) => {
          const container = await createEventContainer(cosmos, databaseId, `relay-fast-${r < 0 ? 'w' : r}`);
          try {
            return await fastPathRound(new CosmosEventStore(container), r);
          } finally {
            await container.delete().catch(() => undefined);
          }
        },
        oursInMemoryStore: async (r) => {
          let ms = 0;
          for (let i = 0; i < fastRepeats; i++) {
            const store = new InMemoryEventStore();
            await fill(store, streams, eventsPerStream);
            ms += (await drainRound(store, r, 'memory')).ms as number;
          }
          return { perSecond: ((total * fastRepeats) / ms) * 1000, ms: round(ms, 0) };
        },
        rawOneAtATime: () => rawSend(1),
      },
      { rounds },
    );

    const ours = medianRate(samples.ours);
    const raw = medianRate(samples.raw);
    const memory = medianRate(samples.oursInMemoryStore);
    const fastPath = medianRate(samples.oursFastPath);
    const sequential = medianRate(samples.rawOneAtATime);
    return {
      name: 'relay (Cosmos outbox -> Kafka)',
      unit: 'events/s',
      ours: round(ours, 1),
      raw: round(raw, 1),
      ratio: ratioOf(ours, raw),
      notes:
        `${streams} streams x ${eventsPerStream} single-event appends, recovery scan; fast path (from memory): ` +
        `${round(fastPath, 1)}/s (ratio ${ratioOf(fastPath, raw).toFixed(2)}); in-memory store: ` +
        `${round(memory, 1)}/s (ratio ${ratioOf(memory, raw).toFixed(2)}); raw one send at a time: ` +
        `${round(sequential, 1)}/s`,
      details: {
        what:
          'ours: OutboxRelay.drain() (the recovery scan) with KafkaEventPublisher (Nest ClientKafka over kafkajs, ' +
          'idempotent, acks=all) over a CosmosEventStore filled beforehand (not timed): per page of 100 entries ' +
          'one cross-partition outbox query, point reads of the events, ONE produce request (sendBatch) and one ' +
          'bulk delete request for the page. oursFastPath: the same appends handed to OutboxRelay.appended() from ' +
          'memory, as after each command: no query, no read; one produce request and one bulk delete request ' +
          'per pass. ' +
          'oursInMemoryStore: the same relay and publisher over an InMemoryEventStore (Kafka + relay cost only). ' +
          'raw: kafkajs producer (idempotent, maxInFlightRequests 1, acks -1, murmur2 partitioner), the same ' +
          'key/value/headers (encodeEvent), one send per event, in order per stream, all streams in flight. ' +
          'rawOneAtATime: the same sends strictly one after another, as the relay does them. The Kafka-only ' +
          `sides repeat their work ${fastRepeats} times per round. cosmosdb-server scans the whole container ` +
          'for every query, so the Cosmos figure falls as streams x events grows (real Cosmos DB does not).',
        fastRepeats,
        streams,
        eventsPerStream,
        events: total,
        rounds,
        topic,
        oursPerRound: rates(samples.ours),
        rawPerRound: rates(samples.raw),
        fastPath: {
          median: round(fastPath, 1),
          ratio: ratioOf(fastPath, raw),
          perRound: rates(samples.oursFastPath),
        },
        inMemoryStore: {
          median: round(memory, 1),
          ratio: ratioOf(memory, raw),
          perRound: rates(samples.oursInMemoryStore),
        },
        rawOneAtATime: {
          median: round(sequential, 1),
          perRound: rates(samples.rawOneAtATime),
        },
        cosmosFillEventsPerSecond: round(((rounds + 1) * total * 1000) / fillMs, 1),
      },
    };
  } finally {
    await producer.disconnect().catch(() => undefined);
    await publisher.onApplicationShutdown().catch(() => undefined);
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

if (isMain(import.meta.url)) runStandalone('micro-relay', () => relay());
