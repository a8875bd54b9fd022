import { given } from '@app/core/testing';
import type { ProductRegistered, ProductRestocked, ProductStockReleased, ProductStockReserved } from '@app/contracts';
import { MAX_STOCK, Product } from './product.js';

const now = new Date('2026-01-02T03:04:05.000Z');
const at = now.toISOString();
const registered = (initialStock = 10): ProductRegistered => ({
  type: 'ProductRegistered',
  data: { sku: 'APPLE', name: 'Apple', initialStock, registeredAt: at },
});
const restocked = (quantity: number): ProductRestocked => ({
  type: 'ProductRestocked',
  data: { sku: 'APPLE', quantity, restockedAt: at },
});
const reserved = (orderId: string, quantity: number): ProductStockReserved => ({
  type: 'ProductStockReserved',
  data: { sku: 'APPLE', orderId, quantity, reservedAt: at },
});
const released = (orderId: string, quantity: number): ProductStockReleased => ({
  type: 'ProductStockReleased',
  data: { sku: 'APPLE', orderId, quantity, releasedAt: at },
});
const product = () => new Product();

describe('Product', () => {
  describe('when registered', () => {
    it('starts with its initial stock', () => {
      given(product)
        .when((p) => p.register('APPLE', 'Apple', 10, now))
        .then([registered(10)]);
    });

    it('may start empty', () => {
      given(product)
        .when((p) => p.register('APPLE', 'Apple', 0, now))
        .then([registered(0)]);
    });

    it('refuses a second registration of the SKU', () => {
      given(product, [registered()])
        .when((p) => p.register('APPLE', 'Apple', 1, now))
        .thenFails('PRODUCT_ALREADY_REGISTERED');
    });

    it.each([-1, 1.5, Number.NaN, MAX_STOCK + 1])('refuses an initial stock of %p', (stock) => {
      given(product)
        .when((p) => p.register('APPLE', 'Apple', stock, now))
        .thenFails('STOCK_QUANTITY_INVALID');
    });
  });

  describe('when restocked', () => {
    it('adds the quantity', () => {
      given(product, [registered()])
        .when((p) => p.restock(5, now))
        .then([restocked(5)]);
    });

    it.each([0, -3, 2.5])('refuses a quantity of %p', (quantity) => {
      given(product, [registered()])
        .when((p) => p.restock(quantity, now))
        .thenFails('STOCK_QUANTITY_INVALID');
    });

    it('refuses to exceed the maximum stock', () => {
      given(product, [registered(MAX_STOCK)])
        .when((p) => p.restock(1, now))
        .thenFails('STOCK_QUANTITY_INVALID');
    });
  });

  describe('when stock is reserved for an order', () => {
    it('holds it when enough is available', () => {
      given(product, [registered(10)])
        .when((p) => p.reserve('o-1', 10, now))
        .then([reserved('o-1', 10)]);
    });

    it('holds nothing when not enough is available', () => {
      given(product, [registered(10), reserved('o-1', 8)])
        .when((p) => expect(p.reserve('o-2', 3, now)).toBe(false))
        .thenNothingHappens();
    });

    it('holds nothing more for the same order twice', () => {
      given(product, [registered(10), reserved('o-1', 4)])
        .when((p) => expect(p.reserve('o-1', 4, now)).toBe(true))
        .thenNothingHappens();
    });
  });

  describe('when a reservation is released', () => {
    it('gives back what the order held', () => {
      given(product, [registered(10), reserved('o-1', 4)])
        .when((p) => p.release('o-1', now))
        .then([released('o-1', 4)]);
    });

    it('does nothing for an order that holds nothing', () => {
      given(product, [registered(10), reserved('o-1', 4), released('o-1', 4)])
        .when((p) => p.release('o-1', now))
        .thenNothingHappens();
    });
  });

  it('counts available and reserved stock from its history', () => {
    const p = new Product().rehydrate(
      [registered(10), restocked(5), reserved('o-1', 4), reserved('o-2', 3), released('o-1', 4)],
      5,
    );
    expect({ available: p.available, reserved: p.reserved, version: p.version }).toEqual({
      available: 12,
      reserved: 3,
      version: 5,
    });
  });

  describe('as a snapshot', () => {
    it('comes back with the same stock and reservations, through JSON', () => {
      const p = new Product().rehydrate(
        [registered(10), reserved('o-1', 4), reserved('o-2', 3), released('o-1', 4)],
        4,
      );
      const back = Product.fromSnapshot(JSON.parse(JSON.stringify(p.toSnapshot())));
      expect({
        sku: back.sku,
        available: back.available,
        reserved: back.reserved,
        o2: back.reservedFor('o-2'),
      }).toEqual({
        sku: 'APPLE',
        available: 7,
        reserved: 3,
        o2: 3,
      });
      expect(back.reserve('o-2', 3, now)).toBe(true); // still held: nothing new raised
      expect(back.pendingEvents).toEqual([]);
    });

    it('is one string of reservations and their sum (one JSON token to parse, however many are held)', () => {
      const p = new Product().rehydrate([registered(10), reserved('o-1', 4), reserved('o-2', 3)], 3);
      expect(p.toSnapshot()).toEqual({ sku: 'APPLE', available: 3, reserved: 7, held: 'o-1\t4\no-2\t3\n' });
    });

    it('restores without reading its reservations, and changes them as events say', () => {
      const back = Product.fromSnapshot({ sku: 'APPLE', available: 3, reserved: 7, held: 'o-1\t4\no-2\t3\n' });
      back.rehydrate([released('o-1', 4), reserved('o-3', 2), restocked(5)], 8);
      expect({ reserved: back.reserved, o1: back.reservedFor('o-1'), o2: back.reservedFor('o-2') }).toEqual({
        reserved: 5,
        o1: 0,
        o2: 3,
      });
      expect(back.toSnapshot()).toEqual({ sku: 'APPLE', available: 10, reserved: 5, held: 'o-2\t3\no-3\t2\n' });
    });

    it.each([
      undefined,
      {},
      { sku: 'A', available: 1 },
      { sku: 'A', available: 1, reserved: 1, held: 'o\tx\n' },
      { sku: 'A', available: 1, reserved: 1, held: 'o\t1' },
      { sku: 'A', available: 1, held: '' },
      // schema version 1
      { sku: 'A', available: 1, reservations: [['o', 1]] },
    ])('refuses a state that is not one (%p)', (state) => {
      expect(() => Product.fromSnapshot(state)).toThrow('Not a product snapshot');
    });
  });
});
