import { randomUUID } from 'node:crypto';
import {
  PRODUCT_EVENT_TYPES,
  RESERVATION_EVENT_TYPES,
  reservationStream,
  productStream,
  type ProductEvent,
  type ReservationEvent,
} from '@app/contracts';
import { fixedClock } from '@app/core';
import { AggregateRepository, EventTypeRegistry, type EventStore } from '@app/event-sourcing';
import { fromOutside } from '@app/event-sourcing/testing';
import { RegisterProductCommand } from '../application/register-product/register-product.command.js';
import { RegisterProductHandler } from '../application/register-product/register-product.handler.js';
import { ReleaseStockCommand } from '../application/release-stock/release-stock.command.js';
import { ReleaseStockHandler } from '../application/release-stock/release-stock.handler.js';
import { ReserveStockCommand } from '../application/reserve-stock/reserve-stock.command.js';
import { ReserveStockHandler } from '../application/reserve-stock/reserve-stock.handler.js';
import { RestockProductCommand } from '../application/restock-product/restock-product.command.js';
import { RestockProductHandler } from '../application/restock-product/restock-product.handler.js';
import type { Product } from '../domain/product.js';
import type { Reservation } from '../domain/reservation.js';
import { productType, reservationType } from '../infrastructure/inventory.repositories.js';

type Op = 'read' | 'append';

/**
 * The store as one copy sees it: `pauseAfter(streamId, op)` stops the copy at its first store call after it
 * read (or appended to) that stream, until `resume()`; `paused` resolves once it stands there.
 */
const pausable = (store: EventStore) => {
  let after: { streamId: string; op: Op } | undefined;
  let touched = false;
  let reached: () => void = () => {};
  let release: () => void = () => {};
  const paused = new Promise<void>((resolve) => (reached = resolve));
  const resumed = new Promise<void>((resolve) => (release = resolve));
  const gate = async (streamId: string, op: Op): Promise<void> => {
    if (touched) {
      touched = false;
      after = undefined;
      reached();
      await resumed;
    }
    if (streamId === after?.streamId && op === after.op) touched = true;
  };
  const gated = Object.create(store) as EventStore;
  gated.readStream = async (streamId, options) => {
    await gate(streamId, 'read');
    return store.readStream(streamId, options);
  };
  gated.appendToStream = async (streamId, events, options) => {
    await gate(streamId, 'append');
    return store.appendToStream(streamId, events, options);
  };
  const pauseAfter = (streamId: string, op: Op = 'read') => void (after = { streamId, op });
  return { store: gated, pauseAfter, paused, resume: () => release() };
};

/**
 * Two copies of one ReserveStock (the same OrderPlaced handled by two consumers: a member that lost its
 * partition and the new owner) interleaved step by step over one event store, each copy with its own
 * repositories (two processes), with a restock or a cancellation between them. Whatever the interleaving:
 * the reservation is decided once, a RESERVED order holds every line on its products, any other holds
 * nothing, and no product goes below zero. Fresh SKUs and order per test: one store serves the suite.
 */
export const reserveStockRaces = (storeName: string, createStore: () => Promise<EventStore>): void => {
  describe(`ReserveStock run twice at once for one order (${storeName})`, () => {
    let store: EventStore;
    const eventTypes = new EventTypeRegistry();
    eventTypes.register(PRODUCT_EVENT_TYPES);
    eventTypes.register(RESERVATION_EVENT_TYPES);
    const clock = fixedClock('2026-01-02T03:04:05.000Z');

    beforeAll(async () => {
      store = await createStore();
      await store.init();
    });

    const products = (on: EventStore = store) =>
      new AggregateRepository<Product, ProductEvent>(on, eventTypes, productType);
    const reservations = (on: EventStore = store) =>
      new AggregateRepository<Reservation, ReservationEvent>(on, eventTypes, reservationType);

    const setUp = async (stock: { apple: number; pear: number }) => {
      const suffix = randomUUID().slice(0, 8).toUpperCase();
      const [apple, pear] = [`APPLE-${suffix}`, `PEAR-${suffix}`];
      const orderId = randomUUID();
      const lines = [
        { sku: apple, quantity: 3 },
        { sku: pear, quantity: 1 },
      ];
      const register = new RegisterProductHandler(products(), clock);
      await register.execute(new RegisterProductCommand(apple, 'Apple', stock.apple, fromOutside()));
      await register.execute(new RegisterProductCommand(pear, 'Pear', stock.pear, fromOutside()));
      // The same OrderPlaced delivered twice: the policy derives the same command context from it.
      const context = fromOutside();
      /** One consumer process: its own repositories (and caches) over the shared store. */
      const copy = () => {
        const view = pausable(store);
        const handler = new ReserveStockHandler(products(view.store), reservations(view.store), clock);
        return { ...view, run: () => handler.execute(new ReserveStockCommand(orderId, lines, context)) };
      };
      const restockPear = () =>
        new RestockProductHandler(products(), clock).execute(new RestockProductCommand(pear, 1, fromOutside()));
      const cancel = () =>
        new ReleaseStockHandler(products(), reservations(), clock).execute(
          new ReleaseStockCommand(orderId, fromOutside()),
        );
      /** What the store holds, read by a third process: the order's status and what each line holds. */
      const outcome = async () => {
        const held: number[] = [];
        for (const { sku } of lines) {
          const product = await products().load(sku);
          expect(product.available).toBeGreaterThanOrEqual(0);
          held.push(product.reservedFor(orderId));
        }
        return { status: (await reservations().find(orderId))?.status, held };
      };
      return { copy, restockPear, cancel, outcome, apple: productStream(apple), pear: productStream(pear), orderId };
    };

    const allHeld = [3, 1];
    const noneHeld = [0, 0];

    describe('when the late copy finds stock the early one was short of', () => {
      it('confirms with every line held, never with a line given back (no oversell)', async () => {
        const { copy, restockPear, outcome, pear } = await setUp({ apple: 10, pear: 0 });
        const early = copy();
        early.pauseAfter(pear); // held APPLE, found PEAR short
        const earlyRun = early.run();
        await early.paused;
        await restockPear();
        await copy().run(); // holds PEAR, reserves
        early.resume();
        await earlyRun;
        expect(await outcome()).toEqual({ status: 'RESERVED', held: allHeld });
      });
    });

    describe('when the early copy rejects while the late one is holding', () => {
      it('rejects with nothing left held (no stranded stock)', async () => {
        const { copy, restockPear, outcome, apple } = await setUp({ apple: 10, pear: 0 });
        const late = copy();
        late.pauseAfter(apple, 'append'); // held APPLE, about to try PEAR
        const lateRun = late.run();
        await late.paused;
        await copy().run(); // PEAR short: rejects
        await restockPear();
        late.resume(); // now holds PEAR
        await lateRun;
        expect(await outcome()).toEqual({ status: 'REJECTED', held: noneHeld });
      });
    });

    describe('when a copy that saw no decision yet holds stock after the order was reserved and cancelled', () => {
      it('gives back what it held (no stock held for a released reservation)', async () => {
        const { copy, cancel, outcome, orderId } = await setUp({ apple: 10, pear: 5 });
        const stale = copy();
        stale.pauseAfter(reservationStream(orderId)); // read: not decided yet
        const staleRun = stale.run();
        await stale.paused;
        await copy().run(); // reserves
        await cancel(); // releases
        stale.resume(); // holds both lines again, then finds the reservation released
        await staleRun;
        expect(await outcome()).toEqual({ status: 'RELEASED', held: noneHeld });
      });
    });

    describe('when one copy stops between its decision and its stock moves', () => {
      it('the other copy finishes the moves the decision calls for', async () => {
        const { copy, outcome, orderId } = await setUp({ apple: 10, pear: 0 });
        const stalled = copy();
        stalled.pauseAfter(reservationStream(orderId), 'append'); // decided (rejected), APPLE still held
        const stalledRun = stalled.run();
        await Promise.race([stalled.paused, stalledRun]);
        await copy().run(); // a redelivery: the order is decided, only the moves are left
        expect(await outcome()).toEqual({ status: 'REJECTED', held: noneHeld });
        stalled.resume();
        await stalledRun;
        expect(await outcome()).toEqual({ status: 'REJECTED', held: noneHeld });
      });
    });
  });
};
