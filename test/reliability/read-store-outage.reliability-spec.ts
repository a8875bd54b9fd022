// FerretDB (the MongoDB read store) stopped: queries and readiness answer 503 problem+json in bounded time,
// commands still work, and once it is back the projections catch up. Stops and restarts the local FerretDB
// (only when no benchmark runs; always brought back up).
import { expectProblem, uniqueCustomer, uniqueSku } from '../e2e/support/api.js';
import {
  expectProductAgrees,
  expectStoreAgrees,
  placeOrder,
  SETTLE_MS,
  type Deployment,
  type TrackedOrder,
} from '../services/support/flows.js';
import type { ServiceProcess } from '../services/support/processes.js';
import { sleep, startStack, withServerDown, type Stack } from './support/faults.js';

describe('orders and inventory through a read-store (FerretDB) outage', () => {
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

  describe('read store outage', () => {
    it('answers 503 problem+json to queries and readiness, takes commands, and catches up afterwards', async () => {
      const sku = uniqueSku('REL-MONGO');
      await d.inventoryApi.registerProduct(sku, 10);
      const known = await placeOrder(d, sku, 1);
      expect((await d.ordersApi.settledOrder(known, SETTLE_MS)).status).toBe('CONFIRMED');
      tracked.push({ orderId: known, sku, quantity: 1, outcome: 'CONFIRMED' });

      const placed = await withServerDown('mongodb', async () => {
        for (const [api, path] of [
          [d.ordersApi, `/orders/${known}`],
          [d.inventoryApi, `/products/${sku}`],
        ] as const) {
          const started = Date.now();
          const answer = await api.http().get(path).timeout(30_000);
          const tookMs = Date.now() - started;
          expect({ path, tookMs: tookMs < 10_000 }).toEqual({ path, tookMs: true });
          expectProblem(answer, 503);
        }
        for (const service of [orders, inventory]) {
          const started = Date.now();
          const ready = await fetch(`${service.url}/health/ready`, { signal: AbortSignal.timeout(30_000) });
          expect(Date.now() - started).toBeLessThan(10_000);
          const text = await ready.text();
          expect({ service: service.name, status: ready.status, text }).toEqual({
            service: service.name,
            status: 503,
            text: expect.stringContaining('readModels'),
          });
        }
        const ids: string[] = [];
        for (let i = 0; i < 3; i++) {
          const answer = await d.ordersApi
            .placeOrder(uniqueCustomer('mongo'), [{ sku, quantity: 2, unitPrice: 1 }])
            .timeout(15_000);
          expect({ status: answer.status, text: answer.text }).toEqual({ status: 201, text: expect.any(String) });
          ids.push(answer.body.id);
        }
        const restock = await d.inventoryApi
          .http()
          .post(`/products/${sku}/restock`)
          .send({ quantity: 5 })
          .timeout(15_000);
        expect(restock.status).toBe(200);
        await sleep(5_000); // longer than a consumer's retry budget (5 attempts, 100 ms doubling)
        return ids;
      });

      const back = Date.now();
      const settled = await stack.settle(sku, 2, placed, 30_000);
      console.log(`after FerretDB returned, ${placed.length} orders visible and settled in ${Date.now() - back} ms`);
      tracked.push(...settled);
      expect(settled.map((o) => o.outcome)).toEqual(['CONFIRMED', 'CONFIRMED', 'CONFIRMED']);
      await expectStoreAgrees(d, settled);
      expect(await expectProductAgrees(d, sku)).toEqual({ available: 10 + 5 - 1 - 6, reserved: 7 });
      await orders.waitReady(30_000);
      await inventory.waitReady(30_000);
    }, 180_000);
  });
});
