import { given } from '@app/core/testing';
import type { ReservationReleased, StockReservationRejected, StockReserved } from '@app/contracts';
import { consolidateLines, Reservation } from './reservation.js';

const now = new Date('2026-01-02T03:04:05.000Z');
const at = now.toISOString();
const lines = [{ sku: 'A', quantity: 2 }];
const shortages = [{ sku: 'B', requested: 5, available: 1 }];
const accepted: StockReserved = { type: 'StockReserved', data: { orderId: 'o-1', lines, reservedAt: at } };
const rejected: StockReservationRejected = {
  type: 'StockReservationRejected',
  data: { orderId: 'o-1', reason: 'Insufficient stock for B', shortages, rejectedAt: at },
};
const released: ReservationReleased = { type: 'ReservationReleased', data: { orderId: 'o-1', lines, releasedAt: at } };
const reservation = () => new Reservation();

describe('Reservation', () => {
  describe('when every line was held', () => {
    it('records the reservation', () => {
      given(reservation)
        .when((r) => r.accept('o-1', lines, now))
        .then([accepted]);
    });

    it('decides only once', () => {
      given(reservation, [rejected])
        .when((r) => r.accept('o-1', lines, now))
        .thenNothingHappens();
    });
  });

  describe('when a line was short', () => {
    it('records the rejection with the shortages', () => {
      given(reservation)
        .when((r) => r.reject('o-1', shortages, now))
        .then([rejected]);
    });

    it('decides only once', () => {
      given(reservation, [accepted])
        .when((r) => r.reject('o-1', shortages, now))
        .thenNothingHappens();
    });
  });

  describe('when deciding', () => {
    it('reserves when no line is short, and then holds stock', () => {
      given(reservation)
        .when((r) => r.decide('o-1', lines, undefined, now))
        .then([accepted]);
      const r = reservation();
      r.decide('o-1', lines, undefined, now);
      expect(r.holdsStock).toBe(true);
    });

    it('rejects on a shortage, and then holds nothing', () => {
      given(reservation)
        .when((r) => r.decide('o-1', lines, shortages[0], now))
        .then([rejected]);
      const r = reservation();
      r.decide('o-1', lines, shortages[0], now);
      expect(r.holdsStock).toBe(false);
    });
  });

  describe('when the order is cancelled', () => {
    it('releases a held reservation', () => {
      given(reservation, [accepted])
        .when((r) => r.release(now))
        .then([released]);
    });

    it.each([
      ['rejected', [rejected]],
      ['already released', [accepted, released]],
    ])('does nothing when %s', (_, history) => {
      given(reservation, history)
        .when((r) => r.release(now))
        .thenNothingHappens();
    });
  });
});

describe('consolidateLines', () => {
  it('merges lines of one SKU and orders them by SKU', () => {
    expect(
      consolidateLines([
        { sku: 'B', quantity: 1 },
        { sku: 'A', quantity: 2 },
        { sku: 'B', quantity: 3 },
      ]),
    ).toEqual([
      { sku: 'A', quantity: 2 },
      { sku: 'B', quantity: 4 },
    ]);
  });
});
