// A member whose store is down holds its batch; another member joins the group (a deploy, a scale-out)
// and takes the partition over. Against the real broker (`npm run infra:up`): two hybrid Nest apps in one
// consumer group on a topic of one partition. The old member must give the batch up at the rebalance and,
// once its store is back, neither apply nor commit it; the new owner applies every message exactly once.
import { randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { Injectable, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Kafka, logLevel, Partitioners, type Admin, type Producer } from 'kafkajs';
import { z } from 'zod';
import { defineEventTypes } from '@app/contracts';
import { ApplicationError, type DomainEvent, type RecordedEvent } from '@app/core';
import { HandlesEvents, type EventHandler } from '@app/event-sourcing';
import { EventHandlingTestModule } from '../testing/event-handling-test.module.js';
import { encodeEvent } from './kafka-envelope.js';
import { KafkaMessagingModule } from './kafka-messaging.module.js';
import type { KafkaTransportOptions } from './kafka-settings.js';
import { connectKafkaConsumer } from './kafka-transport-health.js';
import { eventually } from '../../../../test/e2e/support/eventually.js';
import { infraEnv, runId } from '../../../../test/infra/infra-env.js';

jest.setTimeout(90_000);

const topic = `fencing-spec-${runId}`;
const groupId = `fencing-spec-${runId}`;
defineEventTypes<DomainEvent<'FencingSpecHappened', { n: number }>>()({
  FencingSpecHappened: { schemas: { 1: z.object({ n: z.number() }) } },
});

/** The member's store: down means every write fails as an unreachable event store does. */
@Injectable()
@HandlesEvents({ name: 'fencing-spec', kind: 'policy', categories: ['FencingSpec'], events: ['FencingSpecHappened'] })
class StoreWriter implements EventHandler {
  storeDown = false;
  attempts = 0;
  readonly applied: string[] = [];

  async handle(event: RecordedEvent): Promise<void> {
    this.attempts++;
    if (this.storeDown) throw new ApplicationError('EVENT_STORE_UNAVAILABLE', 'unavailable', 'connection refused');
    this.applied.push(event.metadata.eventId);
  }
}

/**
 * One member. kafkajs' round-robin assigner gives the partition to the first member id in sort order, and
 * the broker makes member ids from the client id: `name` decides who owns the partition once both are in.
 */
const startMember = async (name: string): Promise<INestApplication> => {
  const options: KafkaTransportOptions = {
    kind: 'kafka',
    brokers: infraEnv.kafkaBrokers,
    clientId: `fencing-spec-${name}-${runId}`,
    topicPrefix: '',
    groupId,
    partitions: 1,
    retentionMs: -1,
    handlerAttempts: 3,
    retryBaseDelayMs: 50,
  };
  @Module({
    imports: [
      EventHandlingTestModule,
      KafkaMessagingModule.forRoot(options, { topics: [topic], createTopics: [topic] }),
    ],
    providers: [StoreWriter],
  })
  class MemberModule {}
  const app = await NestFactory.create(MemberModule, { logger: ['error', 'warn'] });
  await connectKafkaConsumer(app, options);
  return app;
};

const event = (n: number): RecordedEvent => ({
  streamId: `FencingSpec-${randomUUID()}`,
  version: 1,
  type: 'FencingSpecHappened',
  schemaVersion: 1,
  data: { n },
  metadata: {
    eventId: randomUUID(),
    correlationId: randomUUID(),
    causationId: randomUUID(),
    occurredAt: new Date().toISOString(),
  },
});

describe('Kafka consumer fencing (two members, real broker)', () => {
  const kafka = new Kafka({
    clientId: `fencing-spec-${runId}`,
    brokers: infraEnv.kafkaBrokers,
    logLevel: logLevel.NOTHING,
  });
  let admin: Admin;
  let producer: Producer;
  const apps: INestApplication[] = [];

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
  });

  afterAll(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    await producer?.disconnect();
    await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin?.deleteGroups([groupId]).catch(() => undefined);
    await admin?.disconnect();
  });

  it('a member that lost its partition during a store outage neither applies nor commits its batch afterwards', async () => {
    const old = await startMember('2-old');
    apps.push(old);
    const oldStore = old.get(StoreWriter);
    oldStore.storeDown = true;
    const events = [event(1), event(2), event(3)];
    await producer.send({
      topic,
      acks: -1,
      messages: events.map(encodeEvent).map((m) => ({ ...m, headers: { ...m.headers } })),
    });
    await eventually(() => expect(oldStore.attempts).toBeGreaterThan(0), 20_000); // holding the batch

    const next = await startMember('1-new'); // sorts first: the partition is its own after the rebalance
    apps.push(next);
    const nextStore = next.get(StoreWriter);
    const ids = events.map((e) => e.metadata.eventId);
    await eventually(() => expect([...nextStore.applied].sort()).toEqual([...ids].sort()), 30_000);
    await eventually(async () => {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      expect(offsets!.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '3' })]);
    }, 10_000);

    // The outage ends. The old member would apply within its longest outage backoff (5 s): watch past it.
    const attemptsAtOutageEnd = oldStore.attempts;
    oldStore.storeDown = false;
    const watchUntil = Date.now() + 7_000;
    while (Date.now() < watchUntil) {
      expect(oldStore.applied).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(oldStore.attempts).toBe(attemptsAtOutageEnd);
    expect(nextStore.applied).toHaveLength(3);
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(offsets!.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '3' })]);
    const { groups } = await admin.describeGroups([groupId]);
    expect(groups[0]).toMatchObject({ state: 'Stable' });
    expect(groups[0]!.members).toHaveLength(2); // the old member rejoined (with nothing to do)
  });
});
