// Delivery guarantees of orders and inventory as OS processes (the built apps) on the real servers: concurrent
// writers on one aggregate, poison messages, a crash between append and publish, and duplicate delivery. Every
// case checks the end state: Cosmos DB streams, Kafka topics and read models agree, nothing is lost and nothing
// applied twice. Needs `npm run infra:up`. Own topic prefix per run: the topics hold only this run's events.
import { randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { reservationStream } from '@app/contracts';
import { encodeEvent } from '@app/messaging';
import { expectProblem, uniqueCustomer, uniqueSku } from '../e2e/support/api.js';
import { eventually } from '../e2e/support/eventually.js';
import {
  expectProductAgrees,
  expectStoreAgrees,
  orderStream,
  placeOrder,
  productStream,
  SETTLE_MS,
  type Deployment,
  type TrackedOrder,
} from '../services/support/flows.js';
import { HttpApi } from '../services/support/http.js';
import { topicEnds, waitGroupCaughtUp } from '../services/support/kafka.js';
import { defineService, type ServiceProcess } from '../services/support/processes.js';
import { groupOf } from '../services/support/stack.js';
import {
  eventKeys,
  expectPublishedInOrder,
  killAfterAppendEnv,
  ORDERS_TOPIC,
  produceRaw,
  queryEvents,
  readModelSnapshot,
  readTopic,
  RESERVATION_TOPIC,
  sleep,
  startStack,
  statusOf,
  withKafkaAdmin,
  type Stack,
} from './support/faults.js';

describe('delivery guarantees of orders and inventory as separate processes', () => {
  let stack: Stack;
  let orders: ServiceProcess;
  let d: Deployment;
  /** Every order of this file and what became of it, checked against the store again at the end. */
  const tracked: TrackedOrder[] = [];

  beforeAll(async () => {
    stack = await startStack();
    ({ orders, d } = stack);
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
  }, 60_000);

  describe('concurrent writers', () => {
    it('lets exactly one of 50 parallel cancels of one order win; the others get 409 problem+json', async () => {
      const sku = uniqueSku('REL-CANCEL');
      await d.inventoryApi.registerProduct(sku, 10);
      const orderId = await placeOrder(d, sku, 2);
      expect((await d.ordersApi.settledOrder(orderId, SETTLE_MS)).status).toBe('CONFIRMED');

      const answers = await Promise.all(
        Array.from({ length: 50 }, () => d.ordersApi.cancel(orderId, { reason: 'race' })),
      );
      const ok = answers.filter((r) => r.status === 200);
      expect(answers.map((r) => r.status).sort()).toEqual([200, ...Array<number>(49).fill(409)]);
      expect(ok[0].body).toMatchObject({ id: orderId, version: 3 });
      for (const answer of answers.filter((r) => r.status !== 200)) expectProblem(answer, 409);

      const stream = await d.store.stream(d.ordersContainer, orderStream(orderId));
      expect(stream.events.filter((e) => e.type === 'OrderCancelled')).toHaveLength(1);
      await eventually(async () => {
        expect(await d.inventoryApi.product(sku)).toMatchObject({ available: 10, reserved: 0 });
      }, SETTLE_MS);
      tracked.push({ orderId, sku, quantity: 2, outcome: 'CANCELLED' });
      await expectStoreAgrees(d, [tracked.at(-1)!]);
    }, 90_000);

    it('applies every accepted one of 50 parallel restocks of one product, and answers 409 to the rest', async () => {
      const sku = uniqueSku('REL-RESTOCK');
      const initial = 5;
      await d.inventoryApi.registerProduct(sku, initial);
      const answers = await Promise.all(
        Array.from({ length: 50 }, () => d.inventoryApi.http().post(`/products/${sku}/restock`).send({ quantity: 1 })),
      );
      const accepted = answers.filter((r) => r.status === 200);
      for (const answer of answers.filter((r) => r.status !== 200)) expectProblem(answer, 409);
      console.log(`parallel restocks: ${accepted.length}/50 accepted`);

      const stream = await d.store.stream(d.inventoryContainer, productStream(sku));
      const restocks = stream.events.filter((e) => e.type === 'ProductRestocked');
      expect(restocks).toHaveLength(accepted.length);
      expect(new Set(accepted.map((r) => r.body.version))).toEqual(new Set(restocks.map((e) => e.version)));
      expect(stream.events.map((e) => e.version)).toEqual(stream.events.map((_, i) => i + 1));
      expect(stream.tipVersion).toBe(stream.events.length);
      expect(await expectProductAgrees(d, sku)).toEqual({ available: initial + accepted.length, reserved: 0 });
    }, 90_000);

    it('confirms exactly as many of 50 parallel orders as the stock allows, and loses no reservation', async () => {
      const sku = uniqueSku('REL-LIMITED');
      const initial = 20;
      await d.inventoryApi.registerProduct(sku, initial);
      const answers = await Promise.all(
        Array.from({ length: 50 }, () =>
          d.ordersApi.placeOrder(uniqueCustomer('rel'), [{ sku, quantity: 1, unitPrice: 1 }]),
        ),
      );
      expect(answers.map((r) => r.status)).toEqual(Array<number>(50).fill(201));
      const settled = await stack.settle(
        sku,
        1,
        answers.map((r) => r.body.id as string),
        60_000,
      );
      tracked.push(...settled);

      const stream = await d.store.stream(d.inventoryContainer, productStream(sku));
      let available = 0;
      for (const event of stream.events) {
        if (event.type === 'ProductRegistered') available += event.data.initialStock;
        if (event.type === 'ProductRestocked') available += event.data.quantity;
        if (event.type === 'ProductStockReserved') available -= event.data.quantity;
        if (event.type === 'ProductStockReleased') available += event.data.quantity;
        expect({ version: event.version, negative: available < 0 }).toEqual({
          version: event.version,
          negative: false,
        });
      }
      const reservedFor = stream.events.filter((e) => e.type === 'ProductStockReserved').map((e) => e.data.orderId);
      const confirmed = settled.filter((o) => o.outcome === 'CONFIRMED').map((o) => o.orderId);
      expect(new Set(reservedFor).size).toBe(reservedFor.length);
      expect(confirmed).toHaveLength(Math.min(50, initial));
      expect(new Set(reservedFor)).toEqual(new Set(confirmed));
      expect(settled.filter((o) => o.outcome === 'REJECTED')).toHaveLength(50 - confirmed.length);
      await expectStoreAgrees(d, settled);
      expect(await expectProductAgrees(d, sku)).toEqual({ available: 0, reserved: initial });
    }, 120_000);
  });

  describe('poison messages', () => {
    it('dead-letters a non-JSON and an incomplete message, and keeps processing the same partition', async () => {
      const sku = uniqueSku('REL-POISON');
      await d.inventoryApi.registerProduct(sku, 10);
      const orderId = await placeOrder(d, sku, 4);
      expect((await d.ordersApi.settledOrder(orderId, SETTLE_MS)).status).toBe('CONFIRMED');

      const key = orderStream(orderId);
      const poison: { key: string; value: string; headers: Record<string, string> }[] = [
        { key, value: 'this is {not JSON', headers: { 'event-type': 'OrderCancelled' } },
        {
          key,
          value: JSON.stringify({ streamId: key, type: 'OrderCancelled', data: { reason: 'poison' } }),
          headers: { 'event-type': 'OrderCancelled', 'stream-id': key },
        },
      ];
      const sent = await produceRaw(ORDERS_TOPIC, poison);

      // A real command's events behind them, same key (so same partition), read by both services.
      const cancelled = await d.ordersApi.cancel(orderId, { reason: 'after the poison' });
      expect(cancelled.status).toBe(200);
      expect(await d.ordersApi.order(orderId, 3)).toMatchObject({ status: 'CANCELLED', version: 3 });
      await eventually(async () => {
        expect(await d.inventoryApi.product(sku)).toMatchObject({ available: 10, reserved: 0, version: 3 });
      }, SETTLE_MS);
      // And a new order is confirmed.
      const next = await placeOrder(d, sku, 1);
      expect((await d.ordersApi.settledOrder(next, SETTLE_MS)).status).toBe('CONFIRMED');
      tracked.push(
        { orderId, sku, quantity: 4, outcome: 'CANCELLED' },
        { orderId: next, sku, quantity: 1, outcome: 'CONFIRMED' },
      );
      await expectStoreAgrees(d, tracked.slice(-2));

      const dlq = await eventually(async () => {
        const messages = await readTopic(`${ORDERS_TOPIC}.dlq`);
        for (const { partition, offset } of sent) {
          expect(
            messages.filter(
              (m) =>
                m.headers['dlq-origin-partition'] === String(partition) && m.headers['dlq-origin-offset'] === offset,
            ).length,
          ).toBeGreaterThanOrEqual(1);
        }
        return messages;
      }, 30_000);
      sent.forEach(({ partition, offset }, i) => {
        for (const m of dlq.filter(
          (x) => x.headers['dlq-origin-partition'] === String(partition) && x.headers['dlq-origin-offset'] === offset,
        )) {
          expect({ key: m.key, value: m.value }).toEqual({ key, value: poison[i].value });
          expect(m.headers).toMatchObject({
            'dlq-origin-topic': ORDERS_TOPIC,
            'dlq-attempts': expect.stringMatching(/^\d+$/),
            'dlq-error': expect.stringMatching(/.+/),
          });
        }
      });
      // Nothing of the poison reached the order's stream.
      const stream = await d.store.stream(d.ordersContainer, key);
      expect(stream.events.map((e) => e.type)).toEqual(['OrderPlaced', 'OrderConfirmed', 'OrderCancelled']);
    }, 120_000);
  });

  describe('forged event payloads', () => {
    const forgedStockReserved = (orderId: string, data: object) =>
      encodeEvent({
        streamId: reservationStream(orderId),
        version: 1,
        type: 'StockReserved',
        schemaVersion: 1,
        data,
        metadata: {
          eventId: randomUUID(),
          correlationId: `forged-${randomUUID()}`,
          causationId: randomUUID(),
          occurredAt: new Date().toISOString(),
        },
      });

    it('dead-letters a StockReserved of the wrong shape or for an unknown order, and confirms nothing', async () => {
      // Inventory is stopped, so nothing but the forgeries can answer for the order meanwhile.
      const sku = uniqueSku('REL-FORGED');
      await d.inventoryApi.registerProduct(sku, 0); // no stock: inventory's real answer is a rejection
      await stack.inventory.stop();
      let orderId: string;
      const unknownOrder = randomUUID();
      try {
        orderId = await placeOrder(d, sku, 1);
        const forged = [
          forgedStockReserved(orderId, { orderId }),
          forgedStockReserved(orderId, { orderId, lines: 'everything', reservedAt: 'now' }),
          forgedStockReserved(orderId, {
            orderId,
            lines: [{ sku, quantity: -1 }],
            reservedAt: new Date().toISOString(),
          }),
          forgedStockReserved(unknownOrder, {
            orderId: unknownOrder,
            lines: [{ sku, quantity: 1 }],
            reservedAt: new Date().toISOString(),
          }),
        ];
        const sent = await produceRaw(
          RESERVATION_TOPIC,
          forged.map((m) => ({ ...m, headers: { ...m.headers } })),
        );

        const reasons = await eventually(async () => {
          const messages = await readTopic(`${RESERVATION_TOPIC}.dlq`);
          return sent.map(({ partition, offset }) => {
            const found = messages.find(
              (m) =>
                m.headers['dlq-origin-partition'] === String(partition) && m.headers['dlq-origin-offset'] === offset,
            );
            expect(found).toBeDefined();
            return found!.headers['dlq-error'];
          });
        }, 30_000);
        for (const reason of reasons.slice(0, 3)) {
          expect(reason).toMatch(/^ContractViolationError: StockReserved v1 breaks its contract: /);
        }
        expect(reasons[0]).toContain('lines');
        expect(reasons[3]).toMatch(/Order .* does not exist/);

        // Nothing changed: the order is still pending, the unknown one was not created.
        expect((await d.ordersApi.order(orderId)).status).toBe('PENDING');
        const stream = await d.store.stream(d.ordersContainer, orderStream(orderId));
        expect(stream.events.map((e) => e.type)).toEqual(['OrderPlaced']);
        expect((await d.store.stream(d.ordersContainer, orderStream(unknownOrder))).events).toEqual([]);
      } finally {
        await stack.inventory.start();
      }
      // Inventory's real answer still settles it.
      expect((await d.ordersApi.settledOrder(orderId, SETTLE_MS)).status).toBe('REJECTED');
      tracked.push({ orderId, sku, quantity: 1, outcome: 'REJECTED' });
    }, 120_000);
  });

  describe('crash between append and publish', () => {
    it('publishes OrderPlaced from the outbox after the orders service died right after appending it', async () => {
      const sku = uniqueSku('REL-CRASH');
      await d.inventoryApi.registerProduct(sku, 10);
      await orders.stop();
      const faulty = await defineService(
        'orders',
        { ...orders.env, ...killAfterAppendEnv('OrderPlaced') },
        'orders-faulty',
      );
      try {
        await faulty.start();
        const customer = uniqueCustomer('crash');
        const answer = await new HttpApi(faulty.url)
          .placeOrder(customer, [{ sku, quantity: 3, unitPrice: 2 }])
          .timeout(15_000)
          .then(
            (r) => r as Response | Error,
            (error: Error) => error,
          );
        console.log(`POST /orders to the faulty orders service: ${statusOf(answer)}`);
        await eventually(() => expect(faulty.alive).toBe(false), 10_000);

        const placed = await queryEvents(d.ordersContainer, 'c.type = @t AND c.data.customerId = @c', [
          { name: '@t', value: 'OrderPlaced' },
          { name: '@c', value: customer },
        ]);
        expect(placed).toHaveLength(1);
        const streamId = placed[0].streamId as string;
        const orderId = streamId.replace(/^Order-/, '');
        const before = await d.store.stream(d.ordersContainer, streamId);
        expect({ events: before.events.map((e) => e.type), outbox: before.outbox }).toEqual({
          events: ['OrderPlaced'],
          outbox: 1,
        });

        await orders.start();
        const order = await d.ordersApi.settledOrder(orderId, SETTLE_MS);
        expect(order).toMatchObject({ status: 'CONFIRMED', version: 2 });
        tracked.push({ orderId, sku, quantity: 3, outcome: 'CONFIRMED' });
        await expectStoreAgrees(d, [tracked.at(-1)!]);
        expect(await expectProductAgrees(d, sku)).toEqual({ available: 7, reserved: 3 });
        const product = await d.store.stream(d.inventoryContainer, productStream(sku));
        expect(product.events.filter((e) => e.type === 'ProductStockReserved').map((e) => e.data.orderId)).toEqual([
          orderId,
        ]);
        const after = await d.store.stream(d.ordersContainer, streamId);
        expectPublishedInOrder(await readTopic(ORDERS_TOPIC), streamId, after.events);
      } finally {
        await faulty.kill();
        if (!orders.alive) await orders.start();
      }
    }, 120_000);
  });

  describe('duplicate delivery', () => {
    it('changes nothing when the orders service re-reads every topic it consumes from the earliest offset', async () => {
      expect(tracked.length).toBeGreaterThan(0);
      const group = groupOf('orders');
      // The topics the orders service consumes: those its group committed offsets for.
      const consumed = await withKafkaAdmin(async (admin) =>
        (await admin.fetchOffsets({ groupId: group })).map((t) => t.topic).sort(),
      );
      expect(consumed).toEqual(expect.arrayContaining([ORDERS_TOPIC, RESERVATION_TOPIC]));
      await waitGroupCaughtUp(group, await topicEnds(consumed), 60_000);
      const inventoryTopics = await withKafkaAdmin(async (admin) =>
        (await admin.fetchOffsets({ groupId: groupOf('inventory') })).map((t) => t.topic),
      );
      await waitGroupCaughtUp(groupOf('inventory'), await topicEnds(inventoryTopics), 60_000);
      await expectStoreAgrees(d, tracked);
      const readModels = await readModelSnapshot();
      const ordersEvents = await eventKeys(d.ordersContainer);
      const inventoryEvents = await eventKeys(d.inventoryContainer);
      expect(Object.values(readModels).flat().length).toBeGreaterThan(tracked.length);

      const deadLettered = () => orders.logEntries().filter((e) => String(e.msg).startsWith('Dead-lettered')).length;
      const deadLetteredBefore = deadLettered();
      await orders.stop();
      // Resetting needs an empty group: the stopped member may take a moment to leave.
      await withKafkaAdmin((admin) =>
        eventually(
          async () => {
            for (const topic of consumed) await admin.resetOffsets({ groupId: group, topic, earliest: true });
          },
          30_000,
          500,
        ),
      );

      const replayFrom = Date.now();
      await orders.start();
      const replayEnds = await topicEnds(consumed);
      const total = Object.values(replayEnds)
        .flat()
        .reduce((sum, p) => sum + Number(p.offset), 0);
      await waitGroupCaughtUp(group, replayEnds, 120_000);
      console.log(`orders re-read ${total} messages of ${consumed.join(', ')} in ${Date.now() - replayFrom} ms`);
      await sleep(1_000);
      // The replay really happened: the poison messages at the start of the topic were dead-lettered again.
      expect(deadLettered()).toBeGreaterThanOrEqual(deadLetteredBefore + 2);

      expect(await readModelSnapshot()).toEqual(readModels);
      expect(await eventKeys(d.ordersContainer)).toEqual(ordersEvents);
      expect(await eventKeys(d.inventoryContainer)).toEqual(inventoryEvents);
      await expectStoreAgrees(d, tracked);
    }, 240_000);
  });
});
