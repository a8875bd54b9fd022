import { given } from '@app/core/testing';
import type { OrderCancelled, OrderConfirmed, OrderPlaced, OrderRejected } from '@app/contracts';
import { Order, orderTotal } from './order.js';

const now = new Date('2026-01-02T03:04:05.000Z');
const at = now.toISOString();
const orderId = '7d9a3c1e-0000-4000-8000-000000000001';
const lines = [
  { sku: 'APPLE', quantity: 3, unitPrice: 0.1 },
  { sku: 'PEAR', quantity: 1, unitPrice: 0.2 },
];
const placed: OrderPlaced = {
  type: 'OrderPlaced',
  data: { orderId, customerId: 'c-1', currency: 'EUR', lines, total: 0.5, placedAt: at },
};
const confirmed: OrderConfirmed = { type: 'OrderConfirmed', data: { orderId, confirmedAt: at } };
const rejected: OrderRejected = { type: 'OrderRejected', data: { orderId, reason: 'out of stock', rejectedAt: at } };
const cancelled = (reason: string | null): OrderCancelled => ({
  type: 'OrderCancelled',
  data: { orderId, reason, cancelledAt: at },
});
const order = () => new Order();

describe('Order', () => {
  describe('when placed', () => {
    it('is pending with the total in cents-exact arithmetic', () => {
      given(order)
        .when((o) => o.place({ orderId, customerId: 'c-1', currency: 'EUR', lines }, now))
        .then([placed]);
    });

    it('refuses to be placed twice', () => {
      given(order, [placed])
        .when((o) => o.place({ orderId, customerId: 'c-1', currency: 'EUR', lines }, now))
        .thenFails('ORDER_ALREADY_PLACED');
    });

    it.each([
      ['no lines', []],
      ['101 lines', Array.from({ length: 101 }, (_, i) => ({ sku: `S${i}`, quantity: 1, unitPrice: 1 }))],
      ['a zero quantity', [{ sku: 'A', quantity: 0, unitPrice: 1 }]],
      ['a fractional quantity', [{ sku: 'A', quantity: 1.5, unitPrice: 1 }]],
      ['a negative price', [{ sku: 'A', quantity: 1, unitPrice: -1 }]],
    ])('refuses %s', (_, badLines) => {
      given(order)
        .when((o) => o.place({ orderId, customerId: 'c-1', currency: 'EUR', lines: badLines }, now))
        .thenFails('ORDER_INVALID');
    });
  });

  describe('when stock was reserved', () => {
    it('confirms a pending order', () => {
      given(order, [placed])
        .when((o) => o.confirm(now))
        .then([confirmed]);
    });

    it('ignores the answer for an order that was cancelled meanwhile', () => {
      given(order, [placed, cancelled(null)])
        .when((o) => o.confirm(now))
        .thenNothingHappens();
    });

    it('ignores a repeated answer', () => {
      given(order, [placed, confirmed])
        .when((o) => o.confirm(now))
        .thenNothingHappens();
    });
  });

  describe('when stock could not be reserved', () => {
    it('rejects a pending order with the reason', () => {
      given(order, [placed])
        .when((o) => o.reject('out of stock', now))
        .then([rejected]);
    });

    it('ignores it for a confirmed order', () => {
      given(order, [placed, confirmed])
        .when((o) => o.reject('late', now))
        .thenNothingHappens();
    });
  });

  describe('when cancelled', () => {
    it('cancels a pending order', () => {
      given(order, [placed])
        .when((o) => o.cancel(undefined, now))
        .then([cancelled(null)]);
    });

    it('cancels a confirmed order with the reason', () => {
      given(order, [placed, confirmed])
        .when((o) => o.cancel('changed my mind', now))
        .then([cancelled('changed my mind')]);
    });

    it.each([
      ['rejected', [placed, rejected]],
      ['already cancelled', [placed, cancelled(null)]],
    ])('refuses when %s', (_, history) => {
      given(order, history)
        .when((o) => o.cancel(undefined, now))
        .thenFails('ORDER_NOT_CANCELLABLE');
    });
  });
});

describe('orderTotal', () => {
  it('adds in cents', () => {
    expect(orderTotal([{ sku: 'A', quantity: 3, unitPrice: 0.1 }])).toBe(0.3);
    expect(orderTotal([{ sku: 'A', quantity: 7, unitPrice: 19.99 }])).toBe(139.93);
  });
});
