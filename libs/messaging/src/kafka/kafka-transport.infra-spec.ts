// The Kafka transport against the real broker (`npm run infra:up`): a hybrid Nest app consumes through
// KafkaMessagingModule's controller; a plain kafkajs client produces raw messages and reads back what the
// app wrote. Event topics are the contract's (fake event types, skipped by real apps); poison, retry and
// dead-letter tests use a topic of their own per run.
import { randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { Injectable, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Kafka, logLevel, Partitioners, type Admin, type Consumer, type KafkaMessage, type Producer } from 'kafkajs';
import type { DomainEvent, RecordedEvent } from '@app/core';
import { z } from 'zod';
import { deadLetterTopic, defineEventTypes, EVENT_TOPICS, ORDER_CATEGORY } from '@app/contracts';
import { HandlesEvents, type EventHandler } from '@app/event-sourcing';
import {
  contractStream,
  EventHandlingTestModule,
  eventTransportContract,
  TransportContractRecorder,
} from '@app/messaging/testing';
import { TransportHealth } from '../messaging.options.js';
import { encodeEvent } from './kafka-envelope.js';
import { KafkaEventPublisher } from './kafka-event-publisher.js';
import { KafkaMessagingModule } from './kafka-messaging.module.js';
import type { KafkaTransportOptions } from './kafka-settings.js';
import { allEventTopics } from './kafka-topics.js';
import { connectKafkaConsumer, KafkaTransportHealth } from './kafka-transport-health.js';
import { eventually } from '../../../../test/e2e/support/eventually.js';
import { infraEnv, runId } from '../../../../test/infra/infra-env.js';

jest.setTimeout(60_000);

const options: KafkaTransportOptions = {
  kind: 'kafka',
  brokers: infraEnv.kafkaBrokers,
  clientId: `messaging-spec-${runId}`,
  topicPrefix: '', // the real contract topics; this spec reads only what it wrote (offsets taken first)
  groupId: `messaging-spec-${runId}`,
  partitions: 3,
  retentionMs: -1,
  handlerAttempts: 3,
  retryBaseDelayMs: 50,
};
const ordersTopic = EVENT_TOPICS[ORDER_CATEGORY]!;
const specTopic = `messaging-spec-${runId}`;
const specDlq = deadLetterTopic(specTopic);

// The spec's event types, published with a contract like every event a consumer accepts.
const specData = { schemas: { 1: z.object({ type: z.string() }) } };
defineEventTypes<DomainEvent<'SpecFailsTwice' | 'SpecAlwaysFails' | 'SpecHandled', { type: string }>>()({
  SpecFailsTwice: specData,
  SpecAlwaysFails: specData,
  SpecHandled: specData,
});

/** Handlers of the spec topic: one that fails twice per event, one that always fails, one that works. */
@Injectable()
@HandlesEvents({
  name: 'messaging-spec',
  kind: 'policy',
  categories: ['Spec'],
  events: ['SpecFailsTwice', 'SpecAlwaysFails', 'SpecHandled'],
})
class SpecHandler implements EventHandler {
  readonly calls = new Map<string, number>();
  readonly handled: RecordedEvent[] = [];

  async handle(event: RecordedEvent): Promise<void> {
    const call = (this.calls.get(event.metadata.eventId) ?? 0) + 1;
    this.calls.set(event.metadata.eventId, call);
    if (event.type === 'SpecAlwaysFails') throw new Error(`always fails (call ${call})`);
    if (event.type === 'SpecFailsTwice' && call <= 2) throw new Error(`fails twice (call ${call})`);
    this.handled.push(event);
  }
}

@Module({
  imports: [
    EventHandlingTestModule,
    KafkaMessagingModule.forRoot(options, {
      topics: [ordersTopic, specTopic],
      createTopics: [...allEventTopics(options), specTopic, specDlq],
    }),
  ],
  providers: [TransportContractRecorder, SpecHandler],
})
class SpecAppModule {}

const kafka = new Kafka({
  clientId: `messaging-spec-client-${runId}`,
  brokers: infraEnv.kafkaBrokers,
  logLevel: logLevel.WARN,
});

const text = (value: Buffer | string | (Buffer | string)[] | undefined | null): string | undefined =>
  value === undefined || value === null ? undefined : Array.isArray(value) ? text(value[0]) : value.toString();

const specEvent = (type: string, streamId = `Spec-${randomUUID()}`, version = 1): RecordedEvent => ({
  streamId,
  version,
  type,
  schemaVersion: 1,
  data: { type },
  metadata: {
    eventId: randomUUID(),
    correlationId: randomUUID(),
    causationId: randomUUID(),
    occurredAt: new Date().toISOString(),
  },
});

const until = async (predicate: () => boolean, what: string, timeoutMs = 20_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('Kafka transport (hybrid Nest app against the real broker)', () => {
  let app: INestApplication;
  let admin: Admin;
  let producer: Producer;
  let spy: Consumer;
  /** What the app wrote, read back by a plain kafkajs consumer. */
  const seen: { topic: string; partition: number; message: KafkaMessage }[] = [];
  const seenOn = (topic: string, key: string) =>
    seen.filter((m) => m.topic === topic && text(m.message.key) === key).map((m) => m);

  beforeAll(async () => {
    app = await NestFactory.create(SpecAppModule, { logger: ['error', 'warn'] });
    await connectKafkaConsumer(app, options);

    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    spy = kafka.consumer({ groupId: `messaging-spec-spy-${runId}`, maxWaitTimeInMs: 100 });
    await spy.connect();
    // latest offsets: only what this run writes (orders.order may hold a long history)
    await spy.subscribe({ topics: [ordersTopic, specDlq], fromBeginning: false });
    let fetched = false;
    const stopListening = spy.on(spy.events.FETCH, () => (fetched = true));
    await spy.run({
      eachMessage: async ({ topic, partition, message }) => void seen.push({ topic, partition, message }),
    });
    await until(() => fetched, 'the spy to resolve its start offsets'); // a new group starts at "latest"
    stopListening();
  });

  afterAll(async () => {
    await app?.close();
    await spy?.disconnect();
    await producer?.disconnect();
    await admin?.deleteTopics({ topics: [specTopic, specDlq] }).catch(() => undefined);
    await admin?.deleteGroups([options.groupId, `messaging-spec-spy-${runId}`]).catch(() => undefined);
    await admin?.disconnect();
  });

  eventTransportContract('Kafka', async () => ({
    publisher: app.get(KafkaEventPublisher),
    recorder: app.get(TransportContractRecorder),
  }));

  it('joins the consumer group under the exact configured group id and reports ready', async () => {
    const { groups } = await admin.describeGroups([options.groupId]);
    expect(groups[0]).toMatchObject({ groupId: options.groupId, state: 'Stable' });
    expect(groups[0]!.members).toHaveLength(1);
    // Readiness reads the group's committed offsets: they follow the consumer by one fetch that brings
    // nothing (maxWaitTimeInMs) once it caught up, so poll like a readiness probe does.
    expect(await eventually(() => app.get(TransportHealth).check(), 5000, 50)).toMatchObject({ caughtUp: true });
    expect(app.get(KafkaTransportHealth).consumer?.state).toBe('joined');
  });

  it('created the event topics and their dead-letter topics with the configured partitions', async () => {
    const { topics } = await admin.fetchTopicMetadata({ topics: [...allEventTopics(options), specTopic, specDlq] });
    for (const topic of topics) expect(topic.partitions).toHaveLength(options.partitions);
  });

  it('publishes with key = stream id, the documented headers and the event as JSON value, one partition per stream', async () => {
    const events = contractStream(3);
    const streamId = events[0]!.streamId;
    await app.get(KafkaEventPublisher).publish(events);
    await until(() => seenOn(ordersTopic, streamId).length === 3, 'the 3 messages on the spy');

    const got = seenOn(ordersTopic, streamId);
    expect(new Set(got.map((m) => m.partition)).size).toBe(1);
    got.forEach(({ message }, i) => {
      const event = events[i]!;
      expect(JSON.parse(message.value!.toString())).toEqual(event);
      const headers = Object.fromEntries(Object.entries(message.headers!).map(([k, v]) => [k, text(v)]));
      expect(headers).toEqual({
        'event-type': event.type,
        'event-id': event.metadata.eventId,
        'schema-version': '1',
        'correlation-id': event.metadata.correlationId,
        'causation-id': event.metadata.causationId,
        'stream-id': streamId,
        'stream-version': String(i + 1),
        'occurred-at': event.metadata.occurredAt,
      });
    });
  });

  it('rejects a publish the broker refuses (message larger than the broker accepts)', async () => {
    const [event] = contractStream(1);
    const huge = { ...event!, data: { blob: 'x'.repeat(2 * 1024 * 1024) } };
    await expect(app.get(KafkaEventPublisher).publish([huge])).rejects.toThrow(/large/i);
  });

  it('rejects a publish when no broker is reachable', async () => {
    const publisher = new KafkaEventPublisher({ ...options, brokers: ['127.0.0.1:1'] });
    try {
      await expect(publisher.publish(contractStream(1))).rejects.toThrow();
    } finally {
      await publisher.onApplicationShutdown();
    }
  });

  it('dead-letters malformed messages at once, with origin and error in headers, and the partition moves on', async () => {
    const handler = app.get(SpecHandler);
    const streamId = `Spec-${randomUUID()}`;
    const next = specEvent('SpecHandled', streamId);
    const ok = encodeEvent(next);
    await producer.send({
      topic: specTopic,
      acks: -1,
      messages: [
        { key: streamId, value: 'not json {', headers: { 'x-origin': 'spec' } },
        { key: streamId, value: JSON.stringify({ streamId, version: 'one' }) },
        { key: ok.key, value: ok.value, headers: ok.headers },
      ],
    });
    await until(() => handler.handled.some((e) => e.streamId === streamId), 'the message after the poison');
    await until(() => seenOn(specDlq, streamId).length === 2, 'two dead letters');

    const [bad, mistyped] = seenOn(specDlq, streamId);
    expect(bad!.message.value!.toString()).toBe('not json {');
    const headers = Object.fromEntries(Object.entries(bad!.message.headers!).map(([k, v]) => [k, text(v)]));
    expect(headers).toMatchObject({
      'x-origin': 'spec',
      'dlq-origin-topic': specTopic,
      'dlq-attempts': '0',
    });
    expect(headers['dlq-error']).toMatch(/^MalformedMessageError: Message value is not JSON/);
    expect(Number.isNaN(Date.parse(headers['dlq-failed-at']!))).toBe(false);
    expect(Number(headers['dlq-origin-partition'])).toBeGreaterThanOrEqual(0);
    expect(text(mistyped!.message.headers!['dlq-error'])).toMatch(/event.version must be a positive integer/);
    expect(Number(text(mistyped!.message.headers!['dlq-origin-offset']))).toBe(
      Number(headers['dlq-origin-offset']) + 1,
    );
    expect(handler.handled.filter((e) => e.streamId === streamId)).toHaveLength(1);
  });

  it('retries a failing handler with backoff and handles the event once when an attempt succeeds', async () => {
    const handler = app.get(SpecHandler);
    const event = specEvent('SpecFailsTwice');
    const message = encodeEvent(event);
    await producer.send({ topic: specTopic, acks: -1, messages: [{ ...message, headers: { ...message.headers } }] });
    await until(() => handler.handled.some((e) => e.metadata.eventId === event.metadata.eventId), 'the third attempt');
    expect(handler.calls.get(event.metadata.eventId)).toBe(3);
    expect(handler.handled.filter((e) => e.metadata.eventId === event.metadata.eventId)).toHaveLength(1);
  });

  it('consumes a backlog in batches, keeping each stream in order around an event that fails before it passes', async () => {
    const handler = app.get(SpecHandler);
    const streamId = `Spec-${randomUUID()}`;
    const other = `Spec-${randomUUID()}`;
    const ours = [
      specEvent('SpecHandled', streamId, 1),
      specEvent('SpecFailsTwice', streamId, 2),
      specEvent('SpecHandled', streamId, 3),
      specEvent('SpecHandled', streamId, 4),
    ];
    const theirs = [1, 2, 3].map((v) => specEvent('SpecHandled', other, v));
    // one send: the messages land together and are fetched as one batch per partition
    await producer.send({
      topic: specTopic,
      acks: -1,
      messages: [ours[0]!, theirs[0]!, ours[1]!, theirs[1]!, ours[2]!, theirs[2]!, ours[3]!]
        .map(encodeEvent)
        .map((m) => ({ ...m, headers: { ...m.headers } })),
    });
    const versionsOf = (id: string) => handler.handled.filter((e) => e.streamId === id).map((e) => e.version);
    await until(() => versionsOf(streamId).length === 4 && versionsOf(other).length === 3, 'both streams');
    expect(versionsOf(streamId)).toEqual([1, 2, 3, 4]);
    expect(versionsOf(other)).toEqual([1, 2, 3]);
    expect(handler.calls.get(ours[1]!.metadata.eventId)).toBe(3);
  });

  it('dead-letters an event after exactly handlerAttempts failures, keeping key, value and headers, and moves on', async () => {
    const handler = app.get(SpecHandler);
    const streamId = `Spec-${randomUUID()}`;
    const failing = encodeEvent(specEvent('SpecAlwaysFails', streamId, 1));
    const after = specEvent('SpecHandled', streamId, 2);
    await producer.send({
      topic: specTopic,
      acks: -1,
      messages: [failing, encodeEvent(after)].map((m) => ({ ...m, headers: { ...m.headers } })),
    });
    await until(() => handler.handled.some((e) => e.metadata.eventId === after.metadata.eventId), 'the next event');
    await until(() => seenOn(specDlq, streamId).length === 1, 'the dead letter');

    const [letter] = seenOn(specDlq, streamId);
    expect(letter!.message.value!.toString()).toBe(failing.value);
    const headers = Object.fromEntries(Object.entries(letter!.message.headers!).map(([k, v]) => [k, text(v)]));
    expect(headers).toMatchObject({ ...failing.headers, 'dlq-origin-topic': specTopic, 'dlq-attempts': '3' });
    expect(headers['dlq-error']).toBe('Error: always fails (call 3)');
    const failedId = JSON.parse(failing.value).metadata.eventId as string;
    expect(handler.calls.get(failedId)).toBe(options.handlerAttempts);
  });
});
