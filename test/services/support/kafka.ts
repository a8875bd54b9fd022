// Plain kafkajs next to the services: topic end offsets, consumer-group offsets, and a tap that records every
// event message published on the event topics during a test file.
import { Kafka, logLevel, type Admin, type Consumer } from 'kafkajs';
import { infraEnv, runId } from '../../infra/infra-env.js';

/** The event topics of the contracts (fixed names, shared by every run on this broker). */
export const EVENT_TOPICS = ['orders.order', 'inventory.product', 'inventory.reservation'] as const;

/** Header names of an event message (libs/messaging/src/kafka/kafka-envelope.ts), checked as a contract. */
export const EVENT_HEADER_NAMES = [
  'event-type',
  'event-id',
  'schema-version',
  'correlation-id',
  'causation-id',
  'stream-id',
  'stream-version',
] as const;

/** Per topic, the high watermark of each partition. */
export type TopicEnds = Record<string, { partition: number; offset: string }[]>;

const kafka = new Kafka({
  clientId: `services-test-${runId}`,
  brokers: infraEnv.kafkaBrokers,
  logLevel: logLevel.ERROR,
  retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1_000 },
});

const withAdmin = async <T>(work: (admin: Admin) => Promise<T>): Promise<T> => {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
};

/** Ends of the topics that exist (on a fresh broker the services have not created any yet: nothing to skip). */
export const topicEnds = (topics: readonly string[] = EVENT_TOPICS): Promise<TopicEnds> =>
  withAdmin(async (admin) => {
    const ends: TopicEnds = {};
    const existing = new Set(await admin.listTopics());
    for (const topic of topics.filter((name) => existing.has(name))) {
      ends[topic] = (await admin.fetchTopicOffsets(topic)).map(({ partition, high }) => ({ partition, offset: high }));
    }
    return ends;
  });

/**
 * Commits `ends` as the offsets of consumer groups that do not exist yet, so that a service subscribing with
 * `fromBeginning` starts there instead of replaying every event earlier runs left on the shared topics.
 * (kafkajs' admin.setOffsets does the same one topic at a time and waits out a 5 s empty fetch each time.)
 */
export const commitGroupOffsets = async (groupIds: readonly string[], ends: TopicEnds): Promise<void> => {
  const topics = Object.keys(ends);
  if (topics.length === 0) return;
  await Promise.all(
    groupIds.map(async (groupId) => {
      const consumer = kafka.consumer({
        groupId,
        maxWaitTimeInMs: 50,
        sessionTimeout: 10_000,
        rebalanceTimeout: 5_000,
      });
      await consumer.connect();
      try {
        await consumer.subscribe({ topics, fromBeginning: true });
        // Seeking commits the offset; the first fetch after that tells it happened.
        await new Promise<void>((done, fail) => {
          consumer.on(consumer.events.FETCH, () => consumer.stop().then(done, fail));
          consumer.run({ eachBatchAutoResolve: false, eachBatch: async () => undefined }).catch(fail);
          consumer.pause(topics.map((topic) => ({ topic })));
          for (const [topic, partitions] of Object.entries(ends)) {
            for (const { partition, offset } of partitions) consumer.seek({ topic, partition, offset });
          }
        });
      } finally {
        await consumer.disconnect();
      }
    }),
  );
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const groupId of groupIds) {
      const committed = await admin.fetchOffsets({ groupId, topics });
      for (const { topic, partitions } of committed) {
        for (const { partition, offset } of partitions) {
          const end = ends[topic].find((p) => p.partition === partition)?.offset;
          if (offset !== end) throw new Error(`Group ${groupId} ${topic}[${partition}] at ${offset}, not ${end}`);
        }
      }
    }
  } finally {
    await admin.disconnect();
  }
};

/** Waits until a group's committed offsets reached `ends` on every partition; returns how long that took. */
export const waitGroupCaughtUp = (groupId: string, ends: TopicEnds, timeoutMs: number): Promise<number> =>
  withAdmin(async (admin) => {
    const started = Date.now();
    for (;;) {
      const committed = await admin.fetchOffsets({ groupId, topics: Object.keys(ends) });
      const behind = committed.flatMap(({ topic, partitions }) =>
        partitions.filter(({ partition, offset }) => {
          const end = Number(ends[topic].find((p) => p.partition === partition)?.offset ?? 0);
          return end > 0 && Number(offset) < end;
        }),
      );
      if (behind.length === 0) return Date.now() - started;
      if (Date.now() - started > timeoutMs) {
        throw new Error(`Consumer group ${groupId} still behind after ${timeoutMs} ms: ${JSON.stringify(committed)}`);
      }
      await new Promise((done) => setTimeout(done, 250));
    }
  });

export interface TappedMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | undefined;
  readonly headers: Record<string, string | undefined>;
  readonly value: Record<string, any>;
}

/** A consumer of its own group that records every message on the event topics from given offsets on. */
export class EventTap {
  readonly messages: TappedMessage[] = [];

  private constructor(private readonly consumer: Consumer) {}

  static async start(ends: TopicEnds): Promise<EventTap> {
    const groupId = `services-tap-${runId}`;
    await commitGroupOffsets([groupId], ends);
    const consumer = kafka.consumer({
      groupId,
      maxWaitTimeInMs: 100,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
    });
    const tap = new EventTap(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: Object.keys(ends), fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const headers: Record<string, string | undefined> = {};
        for (const [name, raw] of Object.entries(message.headers ?? {})) {
          headers[name] = Array.isArray(raw) ? raw.at(-1)?.toString() : raw?.toString();
        }
        let value: Record<string, any>;
        try {
          value = JSON.parse(message.value?.toString() ?? 'null');
        } catch {
          value = { unparsable: message.value?.toString() };
        }
        tap.messages.push({ topic, partition, offset: message.offset, key: message.key?.toString(), headers, value });
      },
    });
    return tap;
  }

  /** Messages keyed by this stream id. */
  of(streamId: string): TappedMessage[] {
    return this.messages.filter((message) => message.key === streamId);
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}
