// Dead-letter operations against the real broker: the orders service (Cosmos, Kafka, MongoDB of `npm run
// infra:up`) dead-letters a malformed message and an event whose predecessor its projection never saw (a
// projection gap); both are listed with their reasons over HTTP and by the command line's code; once the
// missing event arrives, a redrive applies the second exactly once; a discard removes the first.
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { loadConfig, type AppConfig } from '@app/config';
import { serviceDefinition } from '@app/contexts';
import { orderStream } from '@app/contracts';
import type { RecordedEvent } from '@app/core';
import {
  allEventTopics,
  DeadLetterOperations,
  encodeEvent,
  KafkaDeadLetterLog,
  parseDeadLetterCommand,
  runDeadLetterCommand,
  type DeadLetterSummary,
  type KafkaTransportOptions,
} from '@app/messaging';
import { createHttpApp } from '@app/platform';
import { uniqueCustomer, uniqueSku } from '../e2e/support/api.js';
import { bearer, jwtAuthEnv, tokenFor } from '../e2e/support/auth.js';
import { eventually } from '../e2e/support/eventually.js';
import { fullStack } from '../e2e/support/full-stack.js';
import { request, setDefaultHeaders } from '../e2e/support/openapi-contract.js';
import { sample, scrape } from '../e2e/support/prometheus.js';

jest.setTimeout(120_000);

const event = (streamId: string, version: number, type: string, data: Record<string, unknown>): RecordedEvent => ({
  streamId,
  version,
  type,
  schemaVersion: 1,
  data,
  metadata: {
    eventId: randomUUID(),
    correlationId: randomUUID(),
    causationId: randomUUID(),
    occurredAt: new Date().toISOString(),
  },
});

/** The command line's code (what `npm run dlq` runs), its output captured. */
const cli = async (operations: DeadLetterOperations, ...argv: string[]) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runDeadLetterCommand(
    parseDeadLetterCommand(argv),
    operations,
    { out: (text) => out.push(text), err: (text) => err.push(text) },
    'cli:infra-spec',
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
};

describe('Dead-letter operations (orders service on Kafka)', () => {
  let app: NestExpressApplication;
  let server: Server;
  let config: AppConfig;
  let kafka: KafkaTransportOptions;
  let producer: Producer;
  let operations: DeadLetterOperations;
  let log: KafkaDeadLetterLog;
  const orderId = randomUUID();
  const stream = orderStream(orderId);
  let ordersTopic: string;
  let malformed: DeadLetterSummary;
  let gap: DeadLetterSummary;

  const placed = event(stream, 1, 'OrderPlaced', {
    orderId,
    customerId: uniqueCustomer(),
    currency: 'EUR',
    lines: [{ sku: uniqueSku(), quantity: 2, unitPrice: 1.5 }],
    total: 3,
    placedAt: new Date().toISOString(),
  });
  const confirmed = event(stream, 2, 'OrderConfirmed', { orderId, confirmedAt: new Date().toISOString() });
  const produce = (messages: { key: string; value: string; headers?: Record<string, string> }[]) =>
    producer.send({ topic: ordersTopic, acks: -1, messages });
  const pendingOfOrders = async (): Promise<DeadLetterSummary[]> =>
    (await request(server).get('/admin/dead-letters').query({ topic: 'orders.order' }).expect(200))
      .body as DeadLetterSummary[];

  beforeAll(async () => {
    config = loadConfig(
      {
        ...fullStack.env({ ...jwtAuthEnv(), KAFKA_HANDLER_ATTEMPTS: '2', KAFKA_RETRY_BASE_DELAY_MS: '50' }),
        LOG_LEVEL: 'fatal',
        RATE_LIMIT_MAX: '0',
      },
      { port: 0, service: 'orders' },
    );
    if (config.transport.kind !== 'kafka') throw new Error('the full stack runs on Kafka');
    kafka = config.transport;
    ordersTopic = `${kafka.topicPrefix}orders.order`;
    app = await createHttpApp(serviceDefinition('orders'), config);
    await app.init();
    server = app.getHttpServer() as Server;
    setDefaultHeaders(server, bearer(await tokenFor('ops-1', { roles: ['admin'], expiresInSec: 3600 })));
    await eventually(() => request(server).get('/health/ready').expect(200), 30_000, 100);
    producer = new Kafka({
      clientId: 'dead-letters-spec',
      brokers: [...kafka.brokers],
      logLevel: logLevel.WARN,
    }).producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    log = new KafkaDeadLetterLog(kafka);
    operations = new DeadLetterOperations(
      log,
      { topics: allEventTopics(kafka).filter((t) => t.endsWith('.dlq')), topicPrefix: kafka.topicPrefix },
      (e) => e,
    );
  });

  afterAll(async () => {
    await producer?.disconnect();
    await log?.close();
    await app?.close();
  });

  it('lists a malformed message and a projection gap with their reasons', async () => {
    await produce([{ key: 'Order-garbage', value: '{not json' }]);
    await produce([encodeEvent(confirmed)]); // its OrderPlaced never came: the projection has a gap

    const pending = await eventually(
      async () => {
        const listed = await pendingOfOrders();
        expect(listed).toHaveLength(2);
        return listed;
      },
      30_000,
      200,
    );
    malformed = pending.find((d) => d.streamId === null)!;
    gap = pending.find((d) => d.streamId === stream)!;
    expect(malformed).toMatchObject({
      origin: { topic: ordersTopic },
      group: kafka.groupId,
      eventType: null,
      attempts: 0,
      error: expect.stringContaining('not JSON'),
    });
    expect(gap).toMatchObject({
      origin: { topic: ordersTopic },
      group: kafka.groupId,
      eventType: 'OrderConfirmed',
      streamVersion: 2,
      schemaVersion: 1,
      attempts: 2,
      error: expect.stringContaining('arrived while the document is at 0'),
    });
    expect(Date.parse(gap.failedAt!)).not.toBeNaN();

    const { code, out } = await cli(operations, 'list', '--topic', 'orders.order', '--json');
    expect(code).toBe(0);
    expect((JSON.parse(out) as DeadLetterSummary[]).map((d) => d.ref).sort()).toEqual([malformed.ref, gap.ref].sort());
    const text = await cli(operations, 'list', '--topic', ordersTopic);
    expect(text.out).toContain(`${gap.ref}  ${ordersTopic}[`);
    expect(text.out).toContain('2 dead letter(s) not handled');
  });

  it('shows one with its headers and payload', async () => {
    const shown = await request(server).get(`/admin/dead-letters/${gap.ref}`).expect(200);
    expect(shown.body).toMatchObject({
      ref: gap.ref,
      key: stream,
      headers: { 'event-type': 'OrderConfirmed', 'dlq-attempts': '2', 'dlq-group': kafka.groupId },
      payload: { streamId: stream, version: 2, data: confirmed.data },
    });
    expect(shown.body.handled).toBeUndefined();
    const { out } = await cli(operations, 'show', malformed.ref);
    expect(JSON.parse(out)).toMatchObject({ ref: malformed.ref, key: 'Order-garbage', value: '{not json' });
  });

  it('reports the depth per topic in /metrics', async () => {
    await eventually(
      async () => {
        expect(sample(await scrape(server), 'dead_letter_queue_depth', { topic: ordersTopic })).toBe(2);
      },
      30_000,
      500,
    );
  });

  it('redrives the gap once its cause is fixed, applying it exactly once', async () => {
    await produce([encodeEvent(placed)]); // the missing event arrives
    await eventually(
      async () => {
        const order = await request(server).get(`/orders/${orderId}`).expect(200);
        expect(order.body).toMatchObject({ status: 'PENDING', version: 1 });
      },
      30_000,
      100,
    );

    const redrive = await request(server)
      .post('/admin/dead-letters/redrive')
      .send({ refs: [gap.ref] })
      .expect(200);
    expect(redrive.body).toMatchObject({
      redriven: [{ ref: gap.ref, action: 'redriven', by: 'ops-1', redrivenTo: { topic: ordersTopic } }],
      notRedrivable: [],
    });
    await eventually(
      async () => {
        const order = await request(server).get(`/orders/${orderId}`).expect(200);
        expect(order.body).toMatchObject({ status: 'CONFIRMED', version: 2 });
      },
      30_000,
      100,
    );

    // A second redrive is refused; the same event delivered again is a no-op for the version guards.
    const again = await request(server)
      .post('/admin/dead-letters/redrive')
      .send({ refs: [gap.ref] })
      .expect(409);
    expect(again.body).toMatchObject({ code: 'DEAD_LETTER_HANDLED', handled: { action: 'redriven', by: 'ops-1' } });
    await produce([encodeEvent(confirmed)]);
    await produce([encodeEvent({ ...placed, metadata: { ...placed.metadata, eventId: randomUUID() } })]);
    const marker = event(stream, 3, 'OrderCancelled', {
      orderId,
      reason: 'marker',
      cancelledAt: new Date().toISOString(),
    });
    await produce([encodeEvent(marker)]); // after the duplicates in the partition: once applied, they were consumed
    await eventually(
      async () => {
        const order = await request(server).get(`/orders/${orderId}`).expect(200);
        expect(order.body).toMatchObject({ status: 'CANCELLED', version: 3 });
      },
      30_000,
      100,
    );
    const listed = await pendingOfOrders();
    expect(listed.map((d) => d.ref)).toEqual([malformed.ref]);
    const { out } = await cli(operations, 'show', gap.ref);
    expect(JSON.parse(out)).toMatchObject({ handled: { action: 'redriven', by: 'ops-1' } });
  });

  it('refuses to redrive the malformed one, and discards it with a reason', async () => {
    const refused = await request(server)
      .post('/admin/dead-letters/redrive')
      .send({ refs: [malformed.ref] })
      .expect(409);
    expect(refused.body).toMatchObject({ code: 'DEAD_LETTER_NOT_REDRIVABLE' });

    const discard = await cli(operations, 'discard', malformed.ref, '--reason', 'hand-made garbage');
    expect(discard).toMatchObject({ code: 0, out: expect.stringContaining(`discarded ${malformed.ref}`) });
    expect(await pendingOfOrders()).toEqual([]);
    const shown = await request(server).get(`/admin/dead-letters/${malformed.ref}`).expect(200);
    expect(shown.body).toMatchObject({
      handled: { action: 'discarded', reason: 'hand-made garbage', by: 'cli:infra-spec' },
    });
    expect((await cli(operations, 'list', '--topic', 'orders.order')).out).toContain('0 dead letter(s) not handled');
    await eventually(
      async () => {
        expect(sample(await scrape(server), 'dead_letter_queue_depth', { topic: ordersTopic })).toBe(0);
      },
      30_000,
      500,
    );
  });

  it('answers bad input with problem+json and field details, and only to admins', async () => {
    const empty = await request(server).post('/admin/dead-letters/redrive').send({}).expect(400);
    expect(empty.body).toMatchObject({
      code: 'VALIDATION_FAILED',
      errors: expect.arrayContaining([{ field: 'refs', message: expect.any(String) }]),
    });
    const badRef = await request(server)
      .post('/admin/dead-letters/redrive')
      .send({ refs: ['orders.order:0:1'] })
      .expect(400);
    expect(badRef.body.errors).toEqual([{ field: 'refs', message: expect.stringContaining('dead-letter ref') }]);
    const noReason = await request(server).post('/admin/dead-letters/discard-all').send({}).expect(400);
    expect(noReason.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'reason' })]));
    const unknownField = await request(server)
      .post('/admin/dead-letters/discard')
      .send({ all: true, refs: [gap.ref], reason: 'x' })
      .expect(400);
    expect(unknownField.body.errors).toEqual([{ field: 'all', message: 'property all should not exist' }]);
    const badTopic = await request(server).get('/admin/dead-letters').query({ topic: 'a/b' }).expect(400);
    expect(badTopic.body.errors).toEqual([{ field: 'topic', message: expect.stringContaining('Kafka topic name') }]);
    const unknownTopic = await request(server).get('/admin/dead-letters').query({ topic: 'nope' }).expect(200);
    expect(unknownTopic.body).toEqual([]);
    const typo = await cli(operations, 'list', '--topic', 'order.orders');
    expect(typo).toMatchObject({
      code: 1,
      err: expect.stringContaining('TOPIC_NOT_FOUND: order.orders has no dead letters here'),
    });
    const showBad = await request(server).get('/admin/dead-letters/not-a-ref').expect(400);
    expect(showBad.body.errors).toEqual([{ field: 'ref', message: expect.stringContaining('not a dead-letter ref') }]);
    await request(server).get(`/admin/dead-letters/${ordersTopic}.dlq:0:999999`).expect(404);

    const operator = bearer(await tokenFor('op-2', { roles: ['operator'], expiresInSec: 600 }));
    const forbidden = await request(server).get('/admin/dead-letters').set(operator).expect(403);
    expect(forbidden.body).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('redrives and discards everything of a topic at once', async () => {
    await produce([{ key: 'Order-garbage-2', value: 'still not json' }]);
    const later = event(orderStream(randomUUID()), 2, 'OrderConfirmed', {
      orderId: randomUUID(),
      confirmedAt: new Date().toISOString(),
    });
    await produce([encodeEvent({ ...later, data: { ...later.data, orderId: later.streamId.slice('Order-'.length) } })]);
    await eventually(async () => expect(await pendingOfOrders()).toHaveLength(2), 30_000, 200);

    const redriven = await request(server)
      .post('/admin/dead-letters/redrive-all')
      .send({ topic: 'orders.order' })
      .expect(200);
    expect(redriven.body.redriven).toHaveLength(1);
    expect(redriven.body.notRedrivable).toEqual([
      { ref: expect.any(String), reason: expect.stringContaining('not JSON') },
    ]);
    // The redriven gap fails again (its OrderPlaced never comes): a new dead letter, marked as a redrive.
    const again = await eventually(
      async () => {
        const pending = await pendingOfOrders();
        expect(pending).toHaveLength(2);
        return pending.find((d) => d.redriveOf !== null)!;
      },
      30_000,
      200,
    );
    expect(again.redriveOf).toBe(redriven.body.redriven[0].ref);

    const discarded = await request(server)
      .post('/admin/dead-letters/discard-all')
      .send({ topic: 'orders.order', reason: 'end of the test' })
      .expect(200);
    expect(discarded.body.discarded).toHaveLength(2);
    expect(await pendingOfOrders()).toEqual([]);
  });
});
