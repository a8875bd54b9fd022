// Two copies of one ReserveStock (the same OrderPlaced handled by two consumers: a member that lost its
// partition and the new owner) interleaved step by step over one in-memory store, each copy with its own
// repositories (two processes), with a restock between them. Whatever the interleaving: the order's
// reservation is decided once, a RESERVED order holds every line on its products, anything else holds nothing.
import {
  PRODUCT_EVENT_TYPES,
  productStream,
  RESERVATION_EVENT_TYPES,
  reservationStream,
  type ProductEvent,
  type ReservationEvent,
} from '@app/contracts';
import { fixedClock } from '@app/core';
import { AggregateRepository, type EventStore } from '@app/event-sourcing';
import { CommandSpec, fromOutside } from '@app/event-sourcing/testing';
import type { Product } from '../../domain/product.js';
import type { Reservation } from '../../domain/reservation.js';
import { productType, reservationType } from '../../infrastructure/inventory.repositories.js';
import { ReleaseStockCommand } from '../release-stock/release-stock.command.js';
import { ReleaseStockHandler } from '../release-stock/release-stock.handler.js';
import { RestockProductCommand } from '../restock-product/restock-product.command.js';
import { RestockProductHandler } from '../restock-product/restock-product.handler.js';
import { ReserveStockCommand } from './reserve-stock.command.js';
import { ReserveStockHandler } from './reserve-stock.handler.js';

const at = '2026-01-02T03:04:05.000Z';
const orderId = '7d9a3c1e-0000-4000-8000-000000000002';
const lines = [
  { sku: 'APPLE', quantity: 3 },
  { sku: 'PEAR', quantity: 1 },
];
const registered = (sku: string, initialStock: number): ProductEvent => ({
  type: 'ProductRegistered',
  data: { sku, name: `Product ${sku}`, initialStock, registeredAt: at },
});

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

const setUp = async (stock: Record<string, number>) => {
  const spec = new CommandSpec(PRODUCT_EVENT_TYPES, RESERVATION_EVENT_TYPES);
  for (const [sku, initial] of Object.entries(stock)) await spec.given(productStream(sku), [registered(sku, initial)]);
  const clock = fixedClock(at);
  /** One consumer process: its own repositories (and caches) over the shared store. */
  const copy = () => {
    const view = pausable(spec.store);
    const handler = new ReserveStockHandler(
      new AggregateRepository<Product, ProductEvent>(view.store, spec.eventTypes, productType),
      new AggregateRepository<Reservation, ReservationEvent>(view.store, spec.eventTypes, reservationType),
      clock,
    );
    // The same OrderPlaced delivered twice: the policy derives the same command context from it.
    const context = fromOutside();
    return { ...view, run: () => handler.execute(new ReserveStockCommand(orderId, lines, context)) };
  };
  const restock = (sku: string, quantity: number) =>
    new RestockProductHandler(spec.repository(productType), clock).execute(
      new RestockProductCommand(sku, quantity, fromOutside()),
    );
  const cancel = () =>
    new ReleaseStockHandler(spec.repository(productType), spec.repository(reservationType), clock).execute(
      new ReleaseStockCommand(orderId, fromOutside()),
    );
  /** The invariants, read from the store by a third process. */
  const outcome = async () => {
    const products = spec.repository<Product, ProductEvent>(productType);
    const reservation = await spec.repository<Reservation, ReservationEvent>(reservationType).find(orderId);
    const held: Record<string, number> = {};
    for (const { sku } of lines) {
      const product = await products.load(sku);
      expect(product.available).toBeGreaterThanOrEqual(0);
      held[sku] = product.reservedFor(orderId);
    }
    return { status: reservation?.status, held };
  };
  return { copy, restock, cancel, outcome };
};

const allHeld = { APPLE: 3, PEAR: 1 };
const noneHeld = { APPLE: 0, PEAR: 0 };

describe('ReserveStock run twice at once for one order', () => {
  describe('when the late copy finds stock the early one was short of', () => {
    it('confirms with every line held, never with a line given back (no oversell)', async () => {
      const { copy, restock, outcome } = await setUp({ APPLE: 10, PEAR: 0 });
      const early = copy();
      early.pauseAfter(productStream('PEAR')); // held APPLE, found PEAR short
      const earlyRun = early.run();
      await early.paused;
      await restock('PEAR', 1);
      await copy().run(); // holds PEAR, reserves
      early.resume();
      await earlyRun;
      expect(await outcome()).toEqual({ status: 'RESERVED', held: allHeld });
    });
  });

  describe('when the early copy rejects while the late one is holding', () => {
    it('rejects with nothing left held (no stranded stock)', async () => {
      const { copy, restock, outcome } = await setUp({ APPLE: 10, PEAR: 0 });
      const late = copy();
      late.pauseAfter(productStream('APPLE'), 'append'); // held APPLE, about to try PEAR
      const lateRun = late.run();
      await late.paused;
      await copy().run(); // PEAR short: rejects
      await restock('PEAR', 1);
      late.resume(); // now holds PEAR
      await lateRun;
      expect(await outcome()).toEqual({ status: 'REJECTED', held: noneHeld });
    });
  });

  describe('when a copy that saw no decision yet holds stock after the order was reserved and cancelled', () => {
    it('gives back what it held (no stock held for a released reservation)', async () => {
      const { copy, cancel, outcome } = await setUp({ APPLE: 10, PEAR: 5 });
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
      const { copy, outcome } = await setUp({ APPLE: 10, PEAR: 0 });
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
