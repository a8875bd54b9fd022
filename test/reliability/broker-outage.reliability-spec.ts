// Kafka stopped for over 10 s under a steady stream of commands (orders and restocks every 200 ms): the event
// store takes them, and once the broker is back the outboxes drain in per-stream order and every read model
// converges. Stops and restarts the local Kafka (only when no benchmark runs; always brought back up).
import { uniqueCustomer, uniqueSku } from '../e2e/support/api.js';
import {
  expectProductAgrees,
  expectStoreAgrees,
  orderStream,
  productStream,
  reservationStream,
  type Deployment,
  type TrackedOrder,
} from '../services/support/flows.js';
import type { ServiceProcess } from '../services/support/processes.js';
import {
  expectPublishedInOrder,
  ORDERS_TOPIC,
  PRODUCT_TOPIC,
  readTopic,
  RESERVATION_TOPIC,
  sleep,
  startStack,
  withServerDown,
  type Stack,
} from './support/faults.js';

describe('orders and inventory through a Kafka outage', () => {
  let stack: Stack;
  let orders: ServiceProcess;
  let inventory: ServiceProcess;
  let d: Deployment;
  const tracked: TrackedOrder[] = [];

  beforeAll(async () => {
    stack = await startStack();
    ({ orders, inventory, d } = stack);
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
  }, 60_000);

  describe('broker outage', () => {
    it('accepts commands while Kafka is down for 10 s, then drains the backlog in order and converges', async () => {
      const sku = uniqueSku('REL-KAFKA');
      const initial = 1_000;
      await d.inventoryApi.registerProduct(sku, initial);
      await expectProductAgrees(d, sku);

      const placedIds: string[] = [];
      const restockVersions: number[] = [];
      const failures: string[] = [];
      const downFor = await withServerDown('kafka', async () => {
        const started = Date.now();
        const calls: Promise<void>[] = [];
        while (Date.now() - started < 11_000) {
          calls.push(
            d.ordersApi
              .placeOrder(uniqueCustomer('outage'), [{ sku, quantity: 1, unitPrice: 1 }])
              .timeout(15_000)
              .then(
                (r) =>
                  r.status === 201 ? void placedIds.push(r.body.id) : void failures.push(`order ${r.status} ${r.text}`),
                (e: Error) => void failures.push(`order ${e.message}`),
              ),
            d.inventoryApi
              .http()
              .post(`/products/${sku}/restock`)
              .send({ quantity: 2 })
              .timeout(15_000)
              .then(
                (r) =>
                  r.status === 200
                    ? void restockVersions.push(r.body.version)
                    : void failures.push(`restock ${r.status} ${r.text}`),
                (e: Error) => void failures.push(`restock ${e.message}`),
              ),
          );
          await sleep(200);
        }
        await Promise.all(calls);
        return Date.now() - started;
      });
      console.log(
        `Kafka down ${downFor} ms: ${placedIds.length} orders and ${restockVersions.length} restocks accepted, ` +
          `${failures.length} refused`,
      );
      expect(failures).toEqual([]);
      expect(placedIds.length).toBeGreaterThanOrEqual(40);

      const back = Date.now();
      // Both services become ready again on their own (producer and consumer group membership back).
      await Promise.all([orders.waitReady(60_000), inventory.waitReady(60_000)]);
      console.log(`after Kafka returned, both services ready in ${Date.now() - back} ms`);
      const settled = await stack.settle(sku, 1, placedIds, 90_000);
      console.log(`after Kafka returned, ${placedIds.length} orders settled in ${Date.now() - back} ms`);
      tracked.push(...settled);
      expect(settled.map((o) => o.outcome)).toEqual(placedIds.map(() => 'CONFIRMED'));
      await expectStoreAgrees(d, settled);
      expect(await expectProductAgrees(d, sku)).toEqual({
        available: initial + 2 * restockVersions.length - placedIds.length,
        reserved: placedIds.length,
      });

      const product = await d.store.stream(d.inventoryContainer, productStream(sku));
      expectPublishedInOrder(await readTopic(PRODUCT_TOPIC), productStream(sku), product.events);
      const orderMessages = await readTopic(ORDERS_TOPIC);
      const reservationMessages = await readTopic(RESERVATION_TOPIC);
      for (const id of placedIds) {
        expectPublishedInOrder(
          orderMessages,
          orderStream(id),
          (await d.store.stream(d.ordersContainer, orderStream(id))).events,
        );
        expectPublishedInOrder(
          reservationMessages,
          reservationStream(id),
          (await d.store.stream(d.inventoryContainer, reservationStream(id))).events,
        );
      }
    }, 240_000);
  });
});
