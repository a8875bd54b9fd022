// Orders and inventory as two OS processes (the built apps), talking over Kafka, on Cosmos DB and MongoDB, driven
// over HTTP only. Needs `npm run infra:up`. Checks the workflow, the read models against the event store, the
// messages on the topics, and that crashing either service mid-flow loses nothing and settles nothing twice.
import { eventually } from '../e2e/support/eventually.js';
import { uniqueSku } from '../e2e/support/api.js';
import {
  cancelFlow,
  confirmFlow,
  EXPECTED_EVENTS,
  expectProductAgrees,
  expectStoreAgrees,
  orderStream,
  placeOrder,
  productStream,
  rejectFlow,
  reservationStream,
  SETTLE_MS,
  type Deployment,
  type Outcome,
  type TrackedOrder,
} from './support/flows.js';
import { EVENT_HEADER_NAMES, EventTap, type TappedMessage } from './support/kafka.js';
import { defineService, stopAll, type ServiceProcess } from './support/processes.js';
import { deploymentOf, prepareGroups, reportReplay, serviceEnv, stackRun } from './support/stack.js';

const SERVICES = ['orders', 'inventory'] as const;

describe('orders and inventory as separate processes over Kafka', () => {
  let orders: ServiceProcess;
  let inventory: ServiceProcess;
  let tap: EventTap;
  let d: Deployment;
  const happyPath: TrackedOrder[] = [];

  beforeAll(async () => {
    const since = Date.now();
    const ends = await prepareGroups(SERVICES);
    tap = await EventTap.start(ends);
    orders = await defineService('orders', serviceEnv('orders'));
    inventory = await defineService('inventory', serviceEnv('inventory'));
    const [ordersReadyMs, inventoryReadyMs] = await Promise.all([orders.start(), inventory.start()]);
    console.log(
      `services (${stackRun}): orders :${orders.port} ready in ${ordersReadyMs} ms, ` +
        `inventory :${inventory.port} ready in ${inventoryReadyMs} ms; logs in ${orders.logFile} and siblings`,
    );
    await reportReplay(SERVICES, ends, since);
    d = deploymentOf(orders, inventory);
  }, 660_000);

  afterAll(async () => {
    await stopAll();
    await tap?.stop();
    d?.store.close();
  }, 60_000);

  /** Every order settles to one of these, and its stream holds exactly one settling event. */
  const expectSettledOnce = async (sku: string, ids: readonly string[]): Promise<Map<string, Outcome>> => {
    const outcomes = new Map<string, Outcome>();
    for (const id of ids) {
      const order = await d.ordersApi.settledOrder(id, SETTLE_MS);
      expect(['CONFIRMED', 'REJECTED']).toContain(order.status);
      outcomes.set(id, order.status as Outcome);
    }
    await expectStoreAgrees(
      d,
      ids.map((orderId) => ({ orderId, sku, quantity: 0, outcome: outcomes.get(orderId)! })),
    );
    return outcomes;
  };

  /** Redeliveries are allowed after a crash, but only as re-publishes of the same event (same event id). */
  const expectOnlyIdenticalDuplicates = (streamId: string): void => {
    const byVersion = new Map<string, Set<string | undefined>>();
    for (const message of tap.of(streamId)) {
      const version = message.headers['stream-version'] ?? '?';
      byVersion.set(version, (byVersion.get(version) ?? new Set()).add(message.headers['event-id']));
    }
    for (const [version, eventIds] of byVersion)
      expect({ streamId, version, eventIds: eventIds.size }).toEqual({ streamId, version, eventIds: 1 });
  };

  /** Final stock = initial - confirmed quantities; a rejected order could not have fit in what was left. */
  const expectStockAccountsFor = async (
    sku: string,
    initial: number,
    placed: readonly { id: string; quantity: number }[],
    outcomes: Map<string, Outcome>,
  ): Promise<void> => {
    const confirmed = placed.filter((o) => outcomes.get(o.id) === 'CONFIRMED').reduce((sum, o) => sum + o.quantity, 0);
    const stock = await expectProductAgrees(d, sku);
    expect(stock).toEqual({ available: initial - confirmed, reserved: confirmed });
    for (const order of placed.filter((o) => outcomes.get(o.id) === 'REJECTED')) {
      expect(order.quantity).toBeGreaterThan(stock.available);
    }
  };

  describe('the ordering workflow', () => {
    it('confirms an order once inventory reserved its stock, moving available stock to reserved', async () => {
      happyPath.push(await confirmFlow(d));
    }, 60_000);

    it('rejects an order inventory cannot fill, with a reason, leaving the stock as it was', async () => {
      happyPath.push(await rejectFlow(d));
    }, 60_000);

    it('cancels a confirmed order, and inventory releases its stock', async () => {
      happyPath.push(await cancelFlow(d));
    }, 60_000);

    it('answers from read models that agree with the event store streams', async () => {
      expect(happyPath.map((o) => o.outcome)).toEqual(['CONFIRMED', 'REJECTED', 'CANCELLED']);
      await expectStoreAgrees(d, happyPath);
    }, 60_000);

    it('published every event of these streams exactly once, keyed by stream id, with the envelope headers', async () => {
      expect(happyPath).toHaveLength(3);
      const checked: string[] = [];
      for (const { orderId, sku, outcome } of happyPath) {
        const streams: [string, string, string, string[]][] = [
          ['orders-events', 'orders.order', orderStream(orderId), EXPECTED_EVENTS[outcome].order],
          [
            'inventory-events',
            'inventory.reservation',
            reservationStream(orderId),
            EXPECTED_EVENTS[outcome].reservation,
          ],
          [
            'inventory-events',
            'inventory.product',
            productStream(sku),
            ['ProductRegistered', ...EXPECTED_EVENTS[outcome].product],
          ],
        ];
        for (const [container, topic, streamId, types] of streams) {
          const stored = await d.store.stream(container, streamId);
          const messages = await eventually(() => {
            const seen = tap.of(streamId);
            expect({ streamId, types: seen.map((m) => m.headers['event-type']) }).toEqual({ streamId, types });
            return seen;
          }, 10_000);
          messages.forEach((message: TappedMessage, i) => {
            const event = stored.events[i];
            expect({ streamId, topic: message.topic, key: message.key }).toEqual({ streamId, topic, key: streamId });
            expect(Object.keys(message.headers)).toEqual(expect.arrayContaining([...EVENT_HEADER_NAMES]));
            expect(message.headers).toMatchObject({
              'event-type': event.type,
              'event-id': event.metadata.eventId,
              'schema-version': String(event.schemaVersion),
              'correlation-id': event.metadata.correlationId,
              'causation-id': event.metadata.causationId,
              'stream-id': streamId,
              'stream-version': String(i + 1),
            });
            expect(message.value).toMatchObject({ streamId, version: i + 1, type: event.type, data: event.data });
          });
          checked.push(`${streamId}@${messages.length}`);
        }
      }
      expect(checked).toHaveLength(9);

      // The answer to an order is caused by it and carries its correlation id.
      const [confirmed] = happyPath;
      const [placed] = tap.of(orderStream(confirmed.orderId));
      const [reserved] = tap.of(reservationStream(confirmed.orderId));
      expect(reserved.headers['causation-id']).toBe(placed.headers['event-id']);
      expect(reserved.headers['correlation-id']).toBe(placed.headers['correlation-id']);
    }, 60_000);
  });

  describe('crashes during the workflow', () => {
    it('loses no order placed while inventory is down: all settle once it is back', async () => {
      const sku = uniqueSku('SVC-INVDOWN');
      const initial = 10;
      await d.inventoryApi.registerProduct(sku, initial);
      await expectProductAgrees(d, sku); // nothing of this product is left in inventory's outbox

      await inventory.kill();
      const quantities = [3, 4, 5, 2];
      const placed = [];
      for (const quantity of quantities) placed.push({ id: await placeOrder(d, sku, quantity), quantity });
      await new Promise((done) => setTimeout(done, 1_500));
      for (const { id } of placed) expect((await d.ordersApi.order(id)).status).toBe('PENDING');

      const downFor = Date.now();
      await inventory.start();
      const outcomes = await expectSettledOnce(
        sku,
        placed.map((o) => o.id),
      );
      console.log(`inventory restarted and settled ${placed.length} waiting orders in ${Date.now() - downFor} ms`);
      expect([...outcomes.values()]).toContain('REJECTED'); // 14 units asked of 10
      await expectStockAccountsFor(sku, initial, placed, outcomes);
      for (const { id } of placed) {
        expectOnlyIdenticalDuplicates(orderStream(id));
        expectOnlyIdenticalDuplicates(reservationStream(id));
      }
    }, 120_000);

    it('loses no order when orders is killed right after answering 201: the relay publishes the rest on restart', async () => {
      const sku = uniqueSku('SVC-ORDDOWN');
      const initial = 10;
      await d.inventoryApi.registerProduct(sku, initial);
      await expectProductAgrees(d, sku);

      const quantities = [2, 3, 4, 5, 1];
      const ids = await Promise.all(quantities.map((quantity) => placeOrder(d, sku, quantity)));
      await orders.kill();
      const placed = ids.map((id, i) => ({ id, quantity: quantities[i] }));

      const downFor = Date.now();
      await orders.start();
      const outcomes = await expectSettledOnce(sku, ids);
      console.log(
        `orders restarted and settled ${ids.length} orders placed before the crash in ${Date.now() - downFor} ms`,
      );
      expect([...outcomes.values()]).toContain('REJECTED'); // 15 units asked of 10
      await expectStockAccountsFor(sku, initial, placed, outcomes);
      for (const id of ids) {
        expectOnlyIdenticalDuplicates(orderStream(id));
        expectOnlyIdenticalDuplicates(reservationStream(id));
      }
    }, 120_000);
  });
});
