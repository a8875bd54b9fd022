// The ordering workflow driven over HTTP against a deployment (two services or one monolith process), and the
// checks that compare what the read models answer with the Cosmos DB streams.
import { uniqueCustomer, uniqueSku, type OrderView, type ProductView } from '../../e2e/support/api.js';
import { eventually } from '../../e2e/support/eventually.js';
import type { EventStoreReader, StoredEvent } from './event-store.js';
import type { HttpApi } from './http.js';

/** Bound for an order to settle / stock to move: crosses Kafka twice (generous: shared, loaded machines). */
export const SETTLE_MS = 20_000;

export interface Deployment {
  /** Serves /orders. */
  readonly ordersApi: HttpApi;
  /** Serves /products. */
  readonly inventoryApi: HttpApi;
  readonly store: EventStoreReader;
  /** Cosmos containers of the event streams of each context. */
  readonly ordersContainer: string;
  readonly inventoryContainer: string;
}

export type Outcome = 'CONFIRMED' | 'REJECTED' | 'CANCELLED';

/** One order of a test, what became of it, and the product it bought. */
export interface TrackedOrder {
  readonly orderId: string;
  readonly sku: string;
  readonly quantity: number;
  readonly outcome: Outcome;
}

export const orderStream = (orderId: string): string => `Order-${orderId}`;
export const reservationStream = (orderId: string): string => `Reservation-${orderId}`;
export const productStream = (sku: string): string => `Product-${sku}`;

const STATUS_AFTER: Record<string, OrderView['status']> = {
  OrderPlaced: 'PENDING',
  OrderConfirmed: 'CONFIRMED',
  OrderRejected: 'REJECTED',
  OrderCancelled: 'CANCELLED',
};

export const EXPECTED_EVENTS: Record<Outcome, { order: string[]; reservation: string[]; product: string[] }> = {
  CONFIRMED: {
    order: ['OrderPlaced', 'OrderConfirmed'],
    reservation: ['StockReserved'],
    product: ['ProductStockReserved'],
  },
  REJECTED: { order: ['OrderPlaced', 'OrderRejected'], reservation: ['StockReservationRejected'], product: [] },
  CANCELLED: {
    order: ['OrderPlaced', 'OrderConfirmed', 'OrderCancelled'],
    reservation: ['StockReserved', 'ReservationReleased'],
    product: ['ProductStockReserved', 'ProductStockReleased'],
  },
};

/** Stock levels a product stream's events add up to. */
export const foldProduct = (events: readonly StoredEvent[]): { available: number; reserved: number } => {
  let available = 0;
  let reserved = 0;
  for (const { type, data } of events) {
    if (type === 'ProductRegistered') available += data.initialStock;
    else if (type === 'ProductRestocked') available += data.quantity;
    else if (type === 'ProductStockReserved') {
      available -= data.quantity;
      reserved += data.quantity;
    } else if (type === 'ProductStockReleased') {
      available += data.quantity;
      reserved -= data.quantity;
    }
  }
  return { available, reserved };
};

/** The product once its read model reached (at least) a version, read with `?minVersion=`. */
export const productAt = async (d: Deployment, sku: string, version: number): Promise<ProductView> =>
  eventually(async () => {
    const response = await d.inventoryApi.http().get(`/products/${sku}`).query({ minVersion: version });
    expect(response.status).toBe(200);
    return response.body as ProductView;
  }, SETTLE_MS);

export const placeOrder = async (d: Deployment, sku: string, quantity: number): Promise<string> => {
  const placed = await d.ordersApi.placeOrder(uniqueCustomer('svc'), [{ sku, quantity, unitPrice: 2.5 }]);
  expect({ status: placed.status, body: placed.body }).toEqual({
    status: 201,
    body: { id: expect.stringMatching(/^[0-9a-f-]{36}$/), version: 1 },
  });
  return placed.body.id as string;
};

export const confirmFlow = async (d: Deployment): Promise<TrackedOrder> => {
  const sku = uniqueSku('SVC-OK');
  await d.inventoryApi.registerProduct(sku, 10);
  const orderId = await placeOrder(d, sku, 3);

  const order = await d.ordersApi.settledOrder(orderId, SETTLE_MS);
  expect(order).toMatchObject({ id: orderId, status: 'CONFIRMED', statusReason: null, version: 2, total: 7.5 });
  // Read-your-writes on the orders side, then the reservation as seen on the inventory service.
  expect(await d.ordersApi.order(orderId, 2)).toMatchObject({ status: 'CONFIRMED', version: 2 });
  expect(await productAt(d, sku, 2)).toMatchObject({ sku, available: 7, reserved: 3, version: 2 });
  return { orderId, sku, quantity: 3, outcome: 'CONFIRMED' };
};

export const rejectFlow = async (d: Deployment): Promise<TrackedOrder> => {
  const sku = uniqueSku('SVC-SHORT');
  await d.inventoryApi.registerProduct(sku, 2);
  const orderId = await placeOrder(d, sku, 5);

  const order = await d.ordersApi.settledOrder(orderId, SETTLE_MS);
  expect(order).toMatchObject({ id: orderId, status: 'REJECTED', version: 2 });
  expect(order.statusReason).toEqual(expect.stringContaining(sku));
  expect(await d.inventoryApi.product(sku)).toMatchObject({ available: 2, reserved: 0, version: 1 });
  return { orderId, sku, quantity: 5, outcome: 'REJECTED' };
};

export const cancelFlow = async (d: Deployment): Promise<TrackedOrder> => {
  const sku = uniqueSku('SVC-CANCEL');
  await d.inventoryApi.registerProduct(sku, 5);
  const orderId = await placeOrder(d, sku, 4);
  expect((await d.ordersApi.settledOrder(orderId, SETTLE_MS)).status).toBe('CONFIRMED');
  expect(await productAt(d, sku, 2)).toMatchObject({ available: 1, reserved: 4 });

  const cancelled = await d.ordersApi.cancel(orderId, { reason: 'Changed my mind' });
  expect({ status: cancelled.status, body: cancelled.body }).toEqual({
    status: 200,
    body: expect.objectContaining({ id: orderId, version: 3 }),
  });
  expect(await d.ordersApi.order(orderId, 3)).toMatchObject({ status: 'CANCELLED', version: 3 });
  // Inventory hears OrderCancelled over Kafka and releases the reservation.
  expect(await productAt(d, sku, 3)).toMatchObject({ sku, available: 5, reserved: 0, version: 3 });
  return { orderId, sku, quantity: 4, outcome: 'CANCELLED' };
};

/**
 * For each order: its read model (status, version) matches the last event and the tip of its stream, the
 * streams hold exactly the expected events, no outbox entry is left; for each product: the read model's
 * stock and version are what its stream adds up to.
 */
export const expectStoreAgrees = async (d: Deployment, orders: readonly TrackedOrder[]): Promise<void> => {
  for (const { orderId, outcome } of orders) {
    const view = await d.ordersApi.order(orderId);
    await eventually(async () => {
      const stream = await d.store.stream(d.ordersContainer, orderStream(orderId));
      const reservation = await d.store.stream(d.inventoryContainer, reservationStream(orderId));
      expect({
        orderId,
        order: stream.events.map((e) => e.type),
        orderTip: stream.tipVersion,
        versions: stream.events.map((e) => e.version),
        reservation: reservation.events.map((e) => e.type),
        reservationTip: reservation.tipVersion,
        outbox: stream.outbox + reservation.outbox,
      }).toEqual({
        orderId,
        order: EXPECTED_EVENTS[outcome].order,
        orderTip: EXPECTED_EVENTS[outcome].order.length,
        versions: EXPECTED_EVENTS[outcome].order.map((_, i) => i + 1),
        reservation: EXPECTED_EVENTS[outcome].reservation,
        reservationTip: EXPECTED_EVENTS[outcome].reservation.length,
        outbox: 0,
      });
      expect({ orderId, status: view.status, version: view.version }).toEqual({
        orderId,
        status: STATUS_AFTER[stream.events.at(-1)!.type],
        version: stream.tipVersion,
      });
    }, 5_000);
  }
  for (const sku of new Set(orders.map((o) => o.sku))) await expectProductAgrees(d, sku);
};

/** The product read model equals the fold of its stream, at the tip's version, with no outbox entry left. */
export const expectProductAgrees = async (
  d: Deployment,
  sku: string,
): Promise<{ available: number; reserved: number }> =>
  eventually(async () => {
    const stream = await d.store.stream(d.inventoryContainer, productStream(sku));
    const view = await d.inventoryApi.product(sku);
    expect({ sku, tip: stream.tipVersion, outbox: stream.outbox }).toEqual({
      sku,
      tip: stream.events.length,
      outbox: 0,
    });
    expect({ sku, available: view.available, reserved: view.reserved, version: view.version }).toEqual({
      sku,
      ...foldProduct(stream.events),
      version: stream.tipVersion,
    });
    return foldProduct(stream.events);
  }, 5_000);
