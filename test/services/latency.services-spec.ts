// End-to-end latency of the two-service workflow on the local servers: per order, from the 201 of POST /orders
// (orders service) to the order read as CONFIRMED on the orders service (OrderPlaced -> Kafka -> inventory ->
// StockReserved -> Kafka -> orders -> projection), and to the reservation visible on the inventory service.
// Reports figures (console + a JSON file in the OS temp dir); asserts only that every order settled in time.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uniqueCustomer, uniqueSku } from '../e2e/support/api.js';
import { EventStoreReader } from './support/event-store.js';
import { HttpApi } from './support/http.js';
import { defineService, stopAll, type ServiceProcess } from './support/processes.js';
import { prepareGroups, reportReplay, serviceEnv, stackRun } from './support/stack.js';

const SERVICES = ['orders', 'inventory'] as const;
const WARM_UP = 5;
const MEASURED = 100;
const SETTLE_BOUND_MS = 10_000;
const POLL_MS = 5;

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Polls `probe` every POLL_MS until it returns true; resolves with the time that took, or rejects past the bound. */
const timeUntil = async (probe: () => Promise<boolean>, from: number, what: string): Promise<number> => {
  for (;;) {
    if (await probe()) return performance.now() - from;
    if (performance.now() - from > SETTLE_BOUND_MS) throw new Error(`${what} not seen within ${SETTLE_BOUND_MS} ms`);
    await sleep(POLL_MS);
  }
};

const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

const summary = (samples: readonly number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    count: sorted.length,
    medianMs: round(percentile(sorted, 50)),
    p95Ms: round(percentile(sorted, 95)),
    worstMs: round(sorted.at(-1)!),
    bestMs: round(sorted[0]),
  };
};

describe('latency of the workflow across two service processes', () => {
  let orders: ServiceProcess;
  let inventory: ServiceProcess;

  beforeAll(async () => {
    const since = Date.now();
    const ends = await prepareGroups(SERVICES);
    orders = await defineService('orders', serviceEnv('orders'));
    inventory = await defineService('inventory', serviceEnv('inventory'));
    await Promise.all([orders.start(), inventory.start()]);
    await reportReplay(SERVICES, ends, since);
  }, 660_000);

  afterAll(async () => {
    await stopAll();
  }, 60_000);

  it(`settles each of ${MEASURED} sequential orders within ${SETTLE_BOUND_MS} ms, and reports the latencies`, async () => {
    const ordersApi = new HttpApi(orders.url);
    const inventoryApi = new HttpApi(inventory.url);
    const sku = uniqueSku('SVC-LATENCY');
    const stock = 100_000;
    await inventoryApi.registerProduct(sku, stock);

    const post: number[] = [];
    const confirmed: number[] = [];
    const reserved: number[] = [];
    const ids: string[] = [];
    const started = Date.now();
    for (let i = 0; i < WARM_UP + MEASURED; i++) {
      const sent = performance.now();
      const placed = await ordersApi.placeOrder(uniqueCustomer('latency'), [{ sku, quantity: 1, unitPrice: 1 }]);
      const created = performance.now();
      expect(placed.status).toBe(201);
      const id = placed.body.id as string;

      // Both watched at once from the 201 on: the order on the orders service, the stock on the inventory service.
      const [toConfirmed, toReserved] = await Promise.all([
        timeUntil(
          async () => {
            const response = await ordersApi.http().get(`/orders/${id}`);
            if (response.status === 200 && response.body.status !== 'PENDING') {
              expect(response.body.status).toBe('CONFIRMED');
              return true;
            }
            return false;
          },
          created,
          `order ${i} CONFIRMED`,
        ),
        timeUntil(
          async () => (await inventoryApi.product(sku)).reserved >= i + 1,
          created,
          `reservation of order ${i} on inventory`,
        ),
      ]);
      if (i >= WARM_UP) {
        ids.push(id);
        post.push(created - sent);
        confirmed.push(toConfirmed);
        reserved.push(toReserved);
      }
    }
    const elapsedMs = Date.now() - started;

    expect(await inventoryApi.product(sku)).toMatchObject({
      available: stock - WARM_UP - MEASURED,
      reserved: WARM_UP + MEASURED,
    });

    // Where the time goes, from the events' occurredAt (one clock): placed -> reserved -> confirmed.
    const store = new EventStoreReader(stackRun);
    const toReservation: number[] = [];
    const toConfirmation: number[] = [];
    try {
      for (const id of ids) {
        const [order, reservation] = await Promise.all([
          store.stream('orders-events', `Order-${id}`),
          store.stream('inventory-events', `Reservation-${id}`),
        ]);
        const at = (events: typeof order.events, type: string) =>
          Date.parse(events.find((e) => e.type === type)!.metadata.occurredAt);
        toReservation.push(at(reservation.events, 'StockReserved') - at(order.events, 'OrderPlaced'));
        toConfirmation.push(at(order.events, 'OrderConfirmed') - at(reservation.events, 'StockReserved'));
      }
    } finally {
      store.close();
    }

    const report = {
      run: stackRun,
      at: new Date().toISOString(),
      orders: MEASURED,
      warmUp: WARM_UP,
      pollMs: POLL_MS,
      elapsedMs,
      postOrders201: summary(post),
      createdToConfirmedOnOrders: summary(confirmed),
      createdToReservedOnInventory: summary(reserved),
      eventTimes: {
        orderPlacedToStockReserved: summary(toReservation),
        stockReservedToOrderConfirmed: summary(toConfirmation),
      },
    };
    const file = join(tmpdir(), `services-latency-${stackRun}.json`);
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`latency (${file}):\n${JSON.stringify(report, null, 2)}`);
    expect(confirmed).toHaveLength(MEASURED);
  }, 180_000);
});
