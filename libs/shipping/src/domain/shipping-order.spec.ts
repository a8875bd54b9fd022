import { given } from '@app/core/testing';
import type { OrderLinesRecorded } from '@app/contracts';
import { ShippingOrder } from './shipping-order.js';

const now = new Date('2026-01-02T03:04:05.000Z');
const orderId = '7d9a3c1e-0000-4000-8000-000000000001';
const lines = [{ sku: 'APPLE', quantity: 3 }];
const recorded: OrderLinesRecorded = {
  type: 'OrderLinesRecorded',
  data: { orderId, lines, recordedAt: now.toISOString() },
};

describe('ShippingOrder', () => {
  describe('when its order is placed', () => {
    it('records the lines', () => {
      given(() => new ShippingOrder())
        .when((o) => o.record(orderId, lines, now))
        .then([recorded]);
    });

    it('records nothing on a redelivered placement', () => {
      given(() => new ShippingOrder(), [recorded])
        .when((o) => o.record(orderId, [{ sku: 'PEAR', quantity: 1 }], now))
        .thenNothingHappens();
    });
  });
});
