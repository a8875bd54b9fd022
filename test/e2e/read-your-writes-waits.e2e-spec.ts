import type { AddressInfo } from 'node:net';
import { processWaitBudget } from '@app/read-models';
import { Api, uniqueCustomer, uniqueSku } from './support/api.js';
import { inMemoryStore, startMonolith, type RunningApp } from './support/app.js';
import { eventually } from './support/eventually.js';

// A `?minVersion=` wait holds one of the process's READ_YOUR_WRITES_MAX_WAITS slots. A client that goes away
// must give its slot back at once, or a few clients that open waits and hang up hold every slot.

const MAX_WAITS = 2;

describe('read-your-writes waits', () => {
  let running: RunningApp;
  let api: Api;
  let baseUrl: string;

  beforeAll(async () => {
    running = await startMonolith(
      inMemoryStore.env({ READ_YOUR_WRITES_MAX_WAITS: String(MAX_WAITS), READ_YOUR_WRITES_TIMEOUT_MS: '30000' }),
    );
    api = new Api(running.server);
    await new Promise<void>((done) => running.server.listen(0, '127.0.0.1', done));
    baseUrl = `http://127.0.0.1:${(running.server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await running?.close();
  });

  describe('when the clients waiting go away', () => {
    it('frees their slots, so a new wait is accepted', async () => {
      const sku = uniqueSku('WAITS');
      await api.registerProduct(sku, 10);
      const orderId = await api.placedOrder(uniqueCustomer('waits'), [{ sku, quantity: 1, unitPrice: 1 }]);
      await api.settledOrder(orderId);

      const clients = Array.from({ length: MAX_WAITS }, () => new AbortController());
      const waits = clients.map((client) =>
        fetch(`${baseUrl}/orders/${orderId}?minVersion=99`, { signal: client.signal }).catch((e: unknown) => e),
      );
      await eventually(() => expect(processWaitBudget.inUse).toBe(MAX_WAITS));
      for (const client of clients) client.abort();
      await Promise.all(waits);
      await eventually(() => expect(processWaitBudget.inUse).toBe(0));

      const next = api.http().get(`/orders/${orderId}`).query({ minVersion: 3 });
      const waited = next.then((response) => response);
      await eventually(() => expect(processWaitBudget.inUse).toBe(1));
      const cancelled = await api.cancel(orderId, { reason: 'changed my mind' });
      expect(cancelled.status).toBe(200);
      const answer = await waited;
      expect({ status: answer.status, orderStatus: answer.body.status }).toEqual({
        status: 200,
        orderStatus: 'CANCELLED',
      });
    }, 30_000);
  });
});
