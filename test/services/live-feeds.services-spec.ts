// Live feeds across services: two orders instances in one consumer group (each projects its share of the
// partitions) and inventory, as OS processes over Kafka. Every instance must show every order's changes
// (its broadcast consumer), and the live page of an orders instance shows an order CONFIRMED in chromium.
import { uniqueSku } from '../e2e/support/api.js';
import { eventually } from '../e2e/support/eventually.js';
import { openSse, type SseClient } from '../e2e/support/sse-client.js';
import { launchChromium, type Browser } from '../browser/chromium.js';
import { placeOrderThroughPage } from '../browser/live-page.js';
import { defineService, stopAll, type ServiceProcess } from './support/processes.js';
import { prepareGroups, serviceEnv } from './support/stack.js';
import { HttpApi } from './support/http.js';

describe('live feeds of services over Kafka', () => {
  let orders: ServiceProcess[];
  let inventory: ServiceProcess;
  let browser: Browser;
  const clients: SseClient[] = [];

  /** A feed, once the instance's broadcast consumer has joined (503 LIVE_FEEDS_STARTING until then). */
  const follow = (service: ServiceProcess, path: string): Promise<SseClient> =>
    eventually(async () => {
      const client = await openSse(service.url, path);
      if (client.status !== 200) throw new Error(`${service.name} ${path}: ${client.status} ${client.body}`);
      clients.push(client);
      return client;
    }, 30_000);

  beforeAll(async () => {
    await prepareGroups(['orders', 'inventory']);
    orders = [
      await defineService('orders', serviceEnv('orders'), 'orders-1'),
      await defineService('orders', serviceEnv('orders'), 'orders-2'),
    ];
    inventory = await defineService('inventory', serviceEnv('inventory'));
    await Promise.all([...orders.map((o) => o.start()), inventory.start()]);
    browser = await launchChromium();
  }, 300_000);

  afterAll(async () => {
    clients.forEach((client) => client.close());
    await browser?.close();
    await stopAll();
  }, 60_000);

  it('shows every order on every instance, whichever instance projects its partition', async () => {
    const feeds = await Promise.all(orders.map((o) => follow(o, '/orders/live')));
    await Promise.all(feeds.map((feed) => feed.until((m) => m.some((x) => x.event === 'ready'), 30_000)));
    const inventoryApi = new HttpApi(inventory.url);
    const sku = uniqueSku('LIVE');
    await inventoryApi.registerProduct(sku, 100);
    const ordersApi = new HttpApi(orders[0]!.url);
    // Enough orders (keys) to land on every partition of orders.order.
    const ids = await Promise.all(
      Array.from({ length: 8 }, (_, i) => ordersApi.placedOrder(`live-${i}`, [{ sku, quantity: 1, unitPrice: 1 }])),
    );
    for (const feed of feeds) {
      const messages = await feed.until(
        (m) => ids.every((id) => m.some((x) => x.event === 'OrderConfirmed' && x.data.state.id === id)),
        60_000,
      );
      // No repeat: each order's events once, in version order.
      for (const id of ids) {
        const versions = messages
          .filter((x) => x.data.state?.id === id && x.data.event)
          .map((x) => x.data.event.version);
        expect(versions).toEqual([1, 2]);
      }
    }
    // One order followed on the instance that did not take the command: state, then nothing missing.
    const single = await follow(orders[1]!, `/orders/${ids[0]}/live`);
    const [state] = await single.until((m) => m.length > 0);
    expect(state).toMatchObject({ id: '2', event: 'state', data: { state: { status: 'CONFIRMED' } } });
  }, 120_000);

  it('shows an order placed on the live page CONFIRMED without a reload (chromium)', async () => {
    const sku = uniqueSku('PAGE');
    await new HttpApi(inventory.url).registerProduct(sku, 10);
    await eventually(async () => {
      const probe = await openSse(orders[0]!.url, '/orders/live');
      probe.close();
      if (probe.status !== 200) throw new Error(`feeds not ready: ${probe.status}`);
    }, 30_000);
    const page = await browser.context.newPage();
    const { orderId } = await placeOrderThroughPage(page, orders[0]!.url, { sku, timeoutMs: 60_000 });
    expect(orderId).toMatch(/^[0-9a-f-]{36}$/);
    await page.close();
  }, 120_000);
});
