// The dead-letter topics and their handled records, read and written with kafkajs. Kafka has no "read this
// topic up to here" call without a consumer group, so a scan joins a group of its own (unique id, nothing
// committed, deleted afterwards), reads every partition of the dead-letter topics and of their
// `.handled` topics from the first offset up to the end offsets taken before it started, and leaves.
// Cost: the size of the dead-letter topics (they are small, or an incident is under way) plus one group
// join (`group.initial.rebalance.delay.ms`, 3 s by default on a broker, 0 in infra/kafka). It is the
// operator path, never the hot path.
import { randomUUID } from 'node:crypto';
import { Kafka, type Admin, type Producer } from 'kafkajs';
import { ApplicationError } from '@app/core';
import {
  ACKS_ALL,
  kafkaClientConfig,
  kafkaProducerConfig,
  type KafkaTransportOptions,
} from '../kafka/kafka-settings.js';
import {
  handledTopic,
  parseRef,
  readDeadLetter,
  type DeadLetter,
  type HandledRecord,
  type RedriveMessage,
} from './dead-letter.js';

export interface DeadLetterScan {
  /** Every message of the dead-letter topics, in topic, partition and offset order. */
  readonly deadLetters: readonly DeadLetter[];
  /** What was done with each handled one, by ref. */
  readonly handled: ReadonlyMap<string, HandledRecord>;
}

const SCAN_TIMEOUT_MS = 60_000;

const parseHandled = (value: Buffer | null): HandledRecord | undefined => {
  if (value === null) return undefined;
  try {
    const record = JSON.parse(value.toString('utf8')) as HandledRecord;
    return typeof record?.ref === 'string' && (record.action === 'redriven' || record.action === 'discarded')
      ? record
      : undefined;
  } catch {
    return undefined; // not ours: ignored rather than fatal for the whole listing
  }
};

export class KafkaDeadLetterLog {
  readonly #kafka: Kafka;
  #admin: Promise<Admin> | undefined;
  #producer: Promise<Producer> | undefined;
  readonly #ensured = new Set<string>();

  constructor(private readonly options: KafkaTransportOptions) {
    this.#kafka = new Kafka(kafkaClientConfig(options, `${options.clientId}-dead-letters`));
  }

  /** Reads `topics` (dead-letter topics; missing ones are empty) and their handled records, up to their current end. */
  scan(topics: readonly string[]): Promise<DeadLetterScan> {
    return brokerCall(() => this.#scan(topics));
  }

  async #scan(topics: readonly string[]): Promise<DeadLetterScan> {
    const admin = await this.#connectedAdmin();
    const existing = new Set(await admin.listTopics());
    const dlqTopics = topics.filter((topic) => existing.has(topic));
    const toRead = [...dlqTopics, ...dlqTopics.map(handledTopic).filter((topic) => existing.has(topic))];
    const ends = new Map<string, bigint>(); // `topic:partition` -> end offset, for partitions with messages
    for (const topic of toRead) {
      for (const { partition, low, high } of await admin.fetchTopicOffsets(topic)) {
        if (BigInt(high) > BigInt(low)) ends.set(`${topic}:${partition}`, BigInt(high));
      }
    }
    const deadLetters: DeadLetter[] = [];
    const handled = new Map<string, HandledRecord>();
    if (ends.size === 0) return { deadLetters, handled };

    const groupId = `${this.options.clientId}-dead-letters-${randomUUID()}`;
    const consumer = this.#kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 100,
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      rebalanceTimeout: 5000,
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: toRead, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(
          () => reject(new ScanTimeoutError(`Reading ${toRead.join(', ')} took over ${SCAN_TIMEOUT_MS} ms`)),
          SCAN_TIMEOUT_MS,
        );
        consumer.on(consumer.events.CRASH, ({ payload }) => {
          if (!payload.restart) reject(payload.error);
        });
        void consumer
          .run({
            autoCommit: false,
            partitionsConsumedConcurrently: ends.size,
            eachBatch: async ({ batch }) => {
              const at = `${batch.topic}:${batch.partition}`;
              const end = ends.get(at);
              if (end === undefined) return;
              for (const message of batch.messages) {
                if (BigInt(message.offset) >= end) break;
                if (batch.topic.endsWith('.handled')) {
                  const record = parseHandled(message.value);
                  if (record) handled.set(record.ref, record);
                } else {
                  deadLetters.push(readDeadLetter(batch.topic, batch.partition, message.offset, message));
                }
              }
              if (BigInt(batch.lastOffset()) + 1n >= end) {
                ends.delete(at);
                if (ends.size === 0) resolve();
              }
            },
          })
          .catch(reject);
      });
    } finally {
      clearTimeout(timer);
      await consumer.disconnect().catch(() => undefined);
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
    deadLetters.sort(byPosition);
    return { deadLetters, handled };
  }

  /** Sends a redrive; resolves once acknowledged (acks=all) with where it landed. */
  send(message: RedriveMessage): Promise<NonNullable<HandledRecord['redrivenTo']>> {
    return brokerCall(() => this.#send(message));
  }

  async #send(message: RedriveMessage): Promise<NonNullable<HandledRecord['redrivenTo']>> {
    const producer = await this.#connectedProducer();
    const [written] = await producer.send({
      topic: message.topic,
      acks: ACKS_ALL,
      messages: [{ key: message.key, value: message.value, headers: message.headers }],
    });
    return { topic: message.topic, partition: written!.partition, offset: written!.baseOffset ?? '?' };
  }

  /** Records that a dead letter was handled, in the compacted `<dlq>.handled` topic (created when missing). */
  markHandled(deadLetterTopic: string, record: HandledRecord): Promise<void> {
    return brokerCall(() => this.#markHandled(deadLetterTopic, record));
  }

  async #markHandled(deadLetterTopic: string, record: HandledRecord): Promise<void> {
    const topic = handledTopic(deadLetterTopic);
    await this.#ensureHandledTopic(topic);
    const producer = await this.#connectedProducer();
    await producer.send({ topic, acks: ACKS_ALL, messages: [{ key: record.ref, value: JSON.stringify(record) }] });
  }

  async close(): Promise<void> {
    const [admin, producer] = [this.#admin, this.#producer];
    this.#admin = this.#producer = undefined;
    await (await admin?.catch(() => undefined))?.disconnect();
    await (await producer?.catch(() => undefined))?.disconnect();
  }

  async #ensureHandledTopic(topic: string): Promise<void> {
    if (this.#ensured.has(topic)) return;
    const admin = await this.#connectedAdmin();
    if (!(await admin.listTopics()).includes(topic)) {
      // Compacted: one record per ref survives (the last), so the topic stays as small as the dead-letter topic.
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic,
            numPartitions: this.options.partitions,
            configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
          },
        ],
      });
    }
    this.#ensured.add(topic);
  }

  #connectedAdmin(): Promise<Admin> {
    this.#admin ??= connectOnce(
      () => this.#kafka.admin(),
      (promise) => (this.#admin = promise),
    );
    return this.#admin;
  }

  #connectedProducer(): Promise<Producer> {
    this.#producer ??= connectOnce(
      () => this.#kafka.producer(kafkaProducerConfig()),
      (promise) => (this.#producer = promise),
    );
    return this.#producer;
  }
}

/** A broker that cannot be reached (or refuses) is a 503 for the admin API, not a bug. */
const brokerCall = async <T>(call: () => Promise<T>): Promise<T> => {
  try {
    return await call();
  } catch (error) {
    // By name: kafkajs' error classes are not named exports of its CommonJS module.
    const fromBroker =
      error instanceof Error && (error.name.startsWith('KafkaJS') || error instanceof ScanTimeoutError);
    if (!fromBroker) throw error;
    throw new ApplicationError('BROKER_UNAVAILABLE', 'unavailable', `Kafka: ${error.message}`);
  }
};

class ScanTimeoutError extends Error {
  override readonly name = 'ScanTimeoutError';
}

/** Connects a client; a failed connection is forgotten so that the next call tries again. */
const connectOnce = <C extends { connect(): Promise<void> }>(
  create: () => C,
  forget: (promise: undefined) => void,
): Promise<C> => {
  const client = create();
  const connected = client.connect().then(() => client);
  connected.catch(() => forget(undefined));
  return connected;
};

/** Topic, then partition, then offset. */
const byPosition = (a: DeadLetter, b: DeadLetter): number => {
  const [x, y] = [parseRef(a.ref), parseRef(b.ref)];
  if (x.topic !== y.topic) return x.topic < y.topic ? -1 : 1;
  if (x.partition !== y.partition) return x.partition - y.partition;
  const [p, q] = [BigInt(x.offset), BigInt(y.offset)];
  return p < q ? -1 : p > q ? 1 : 0;
};
