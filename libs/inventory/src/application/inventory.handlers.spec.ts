// Given events / when a command handler or the policy runs / then the events appended (or the error),
// over the in-memory event store with the real repositories.
import {
  ORDER_EVENT_TYPES,
  orderStream,
  PRODUCT_EVENT_TYPES,
  productStream,
  RESERVATION_EVENT_TYPES,
  reservationStream,
  type OrderEvent,
  type ProductEvent,
  type ReservationEvent,
} from '@app/contracts';
import { fixedClock } from '@app/core';
import { CommandSpec, commandBusFor, fromOutside } from '@app/event-sourcing/testing';
import { productType, reservationType } from '../infrastructure/inventory.repositories.js';
import { RegisterProductCommand } from './register-product/register-product.command.js';
import { RegisterProductHandler } from './register-product/register-product.handler.js';
import { ReleaseStockCommand } from './release-stock/release-stock.command.js';
import { ReleaseStockHandler } from './release-stock/release-stock.handler.js';
import { OrderStockPolicy } from './reserve-stock/order-stock.policy.js';
import { ReserveStockCommand } from './reserve-stock/reserve-stock.command.js';
import { ReserveStockHandler } from './reserve-stock/reserve-stock.handler.js';
import { RestockProductCommand } from './restock-product/restock-product.command.js';
import { RestockProductHandler } from './restock-product/restock-product.handler.js';

const at = '2026-01-02T03:04:05.000Z';
const orderId = '7d9a3c1e-0000-4000-8000-000000000001';
const registered = (sku: string, initialStock: number): ProductEvent => ({
  type: 'ProductRegistered',
  data: { sku, name: `Product ${sku}`, initialStock, registeredAt: at },
});
const held = (sku: string, quantity: number): ProductEvent => ({
  type: 'ProductStockReserved',
  data: { sku, orderId, quantity, reservedAt: at },
});
const released = (sku: string, quantity: number): ProductEvent => ({
  type: 'ProductStockReleased',
  data: { sku, orderId, quantity, releasedAt: at },
});
const inProduct = (sku: string, event: ProductEvent) => ({ streamId: productStream(sku), ...event });
const inReservation = (event: ReservationEvent) => ({ streamId: reservationStream(orderId), ...event });
const lines = [
  { sku: 'APPLE', quantity: 3 },
  { sku: 'PEAR', quantity: 1 },
];
const reserved: ReservationEvent = { type: 'StockReserved', data: { orderId, lines, reservedAt: at } };
const rejected: ReservationEvent = {
  type: 'StockReservationRejected',
  data: {
    orderId,
    reason: 'Insufficient stock for PEAR',
    shortages: [{ sku: 'PEAR', requested: 1, available: 0 }],
    rejectedAt: at,
  },
};

const setUp = () => {
  const spec = new CommandSpec(PRODUCT_EVENT_TYPES, RESERVATION_EVENT_TYPES, ORDER_EVENT_TYPES);
  const products = spec.repository(productType);
  const reservations = spec.repository(reservationType);
  const clock = fixedClock(at);
  const reserve = new ReserveStockHandler(products, reservations, clock);
  const release = new ReleaseStockHandler(products, reservations, clock);
  return {
    spec,
    register: new RegisterProductHandler(products, clock),
    restock: new RestockProductHandler(products, clock),
    reserve,
    release,
    policy: new OrderStockPolicy(commandBusFor([ReserveStockCommand, reserve], [ReleaseStockCommand, release])),
  };
};

describe('inventory command handlers', () => {
  describe('RegisterProduct', () => {
    it('starts the product stream with its initial stock', async () => {
      const { spec, register } = setUp();
      await spec.when(() => register.execute(new RegisterProductCommand('APPLE', 'Product APPLE', 10, fromOutside())));
      spec.then([inProduct('APPLE', registered('APPLE', 10))]);
    });

    it('refuses a SKU that is registered already', async () => {
      const { spec, register } = setUp();
      await spec.given(productStream('APPLE'), [registered('APPLE', 10)]);
      await spec.when(() => register.execute(new RegisterProductCommand('APPLE', 'Again', 1, fromOutside())));
      spec.thenFails('PRODUCT_ALREADY_REGISTERED');
    });
  });

  describe('RestockProduct', () => {
    it('adds stock to a registered product', async () => {
      const { spec, restock } = setUp();
      await spec.given(productStream('APPLE'), [registered('APPLE', 10)]);
      await spec.when(() => restock.execute(new RestockProductCommand('APPLE', 5, fromOutside())));
      spec.then([
        inProduct('APPLE', { type: 'ProductRestocked', data: { sku: 'APPLE', quantity: 5, restockedAt: at } }),
      ]);
    });

    it('refuses an unknown product', async () => {
      const { spec, restock } = setUp();
      await spec.when(() => restock.execute(new RestockProductCommand('APPLE', 5, fromOutside())));
      spec.thenFails('PRODUCT_NOT_FOUND');
    });
  });

  describe('ReserveStock', () => {
    it('holds every line, in SKU order, then records the reservation', async () => {
      const { spec, reserve } = setUp();
      await spec.given(productStream('APPLE'), [registered('APPLE', 10)]);
      await spec.given(productStream('PEAR'), [registered('PEAR', 1)]);
      await spec.when(() => reserve.execute(new ReserveStockCommand(orderId, [...lines].reverse(), fromOutside())));
      spec.then([inProduct('APPLE', held('APPLE', 3)), inProduct('PEAR', held('PEAR', 1)), inReservation(reserved)]);
    });

    it('rejects the order on a shortage, then gives back what it held', async () => {
      const { spec, reserve } = setUp();
      await spec.given(productStream('APPLE'), [registered('APPLE', 10)]);
      await spec.given(productStream('PEAR'), [registered('PEAR', 0)]);
      await spec.when(() => reserve.execute(new ReserveStockCommand(orderId, lines, fromOutside())));
      spec.then([
        inProduct('APPLE', held('APPLE', 3)),
        inReservation(rejected),
        inProduct('APPLE', released('APPLE', 3)),
      ]);
    });

    it('rejects an order for an unknown SKU', async () => {
      const { spec, reserve } = setUp();
      await spec.when(() =>
        reserve.execute(new ReserveStockCommand(orderId, [{ sku: 'PLUM', quantity: 1 }], fromOutside())),
      );
      spec.then([
        inReservation({
          type: 'StockReservationRejected',
          data: {
            orderId,
            reason: 'Insufficient stock for PLUM',
            shortages: [{ sku: 'PLUM', requested: 1, available: 0 }],
            rejectedAt: at,
          },
        }),
      ]);
    });

    it('does nothing for an order already decided', async () => {
      const { spec, reserve } = setUp();
      await spec.given(productStream('APPLE'), [registered('APPLE', 10), held('APPLE', 3)]);
      await spec.given(productStream('PEAR'), [registered('PEAR', 1), held('PEAR', 1)]);
      await spec.given(reservationStream(orderId), [reserved]);
      await spec.when(() => reserve.execute(new ReserveStockCommand(orderId, lines, fromOutside())));
      spec.thenNothingHappens();
    });

    it('finishes giving back the stock of an order rejected before a crash', async () => {
      const { spec, reserve } = setUp();
      await spec.given(productStream('APPLE'), [registered('APPLE', 10), held('APPLE', 3)]);
      await spec.given(productStream('PEAR'), [registered('PEAR', 0)]);
      await spec.given(reservationStream(orderId), [rejected]);
      await spec.when(() => reserve.execute(new ReserveStockCommand(orderId, lines, fromOutside())));
      spec.then([inProduct('APPLE', released('APPLE', 3))]);
    });
  });

  describe('ReleaseStock', () => {
    it('releases the reservation, then gives back every held line', async () => {
      const { spec, release } = setUp();
      await spec.given(productStream('APPLE'), [registered('APPLE', 10), held('APPLE', 3)]);
      await spec.given(productStream('PEAR'), [registered('PEAR', 1), held('PEAR', 1)]);
      await spec.given(reservationStream(orderId), [reserved]);
      await spec.when(() => release.execute(new ReleaseStockCommand(orderId, fromOutside())));
      spec.then([
        inReservation({ type: 'ReservationReleased', data: { orderId, lines, releasedAt: at } }),
        inProduct('APPLE', released('APPLE', 3)),
        inProduct('PEAR', released('PEAR', 1)),
      ]);
    });

    it('finishes giving back the stock of a reservation released before a crash', async () => {
      const { spec, release } = setUp();
      await spec.given(productStream('APPLE'), [registered('APPLE', 10)]);
      await spec.given(productStream('PEAR'), [registered('PEAR', 1), held('PEAR', 1)]);
      await spec.given(reservationStream(orderId), [
        reserved,
        { type: 'ReservationReleased', data: { orderId, lines, releasedAt: at } },
      ]);
      await spec.when(() => release.execute(new ReleaseStockCommand(orderId, fromOutside())));
      spec.then([inProduct('PEAR', released('PEAR', 1))]);
    });

    it('does nothing for an order that holds nothing', async () => {
      const { spec, release } = setUp();
      await spec.when(() => release.execute(new ReleaseStockCommand(orderId, fromOutside())));
      spec.thenNothingHappens();
    });
  });
});

describe('OrderStockPolicy', () => {
  const placed: OrderEvent = {
    type: 'OrderPlaced',
    data: {
      orderId,
      customerId: 'c-1',
      currency: 'EUR',
      lines: [{ sku: 'APPLE', quantity: 3, unitPrice: 0.5 }],
      total: 1.5,
      placedAt: at,
    },
  };

  it('reserves the lines of a placed order', async () => {
    const { spec, policy } = setUp();
    await spec.given(productStream('APPLE'), [registered('APPLE', 10)]);
    const [event] = await spec.given(orderStream(orderId), [placed]);
    await spec.when(() => policy.handle(event!));
    spec.then([
      inProduct('APPLE', held('APPLE', 3)),
      inReservation({
        type: 'StockReserved',
        data: { orderId, lines: [{ sku: 'APPLE', quantity: 3 }], reservedAt: at },
      }),
    ]);
  });

  it('releases the stock of a cancelled order', async () => {
    const { spec, policy } = setUp();
    const apples = [{ sku: 'APPLE', quantity: 3 }];
    await spec.given(productStream('APPLE'), [registered('APPLE', 10), held('APPLE', 3)]);
    await spec.given(reservationStream(orderId), [
      { type: 'StockReserved', data: { orderId, lines: apples, reservedAt: at } },
    ]);
    const [, event] = await spec.given(orderStream(orderId), [
      placed,
      { type: 'OrderCancelled', data: { orderId, reason: null, cancelledAt: at } },
    ]);
    await spec.when(() => policy.handle(event!));
    spec.then([
      inReservation({ type: 'ReservationReleased', data: { orderId, lines: apples, releasedAt: at } }),
      inProduct('APPLE', released('APPLE', 3)),
    ]);
  });

  it('reserves nothing twice when OrderPlaced is delivered again', async () => {
    const { spec, policy } = setUp();
    await spec.given(productStream('APPLE'), [registered('APPLE', 10)]);
    const [event] = await spec.given(orderStream(orderId), [placed]);
    await policy.handle(event!);
    await spec.when(() => policy.handle(event!));
    spec.thenNothingHappens();
  });
});
