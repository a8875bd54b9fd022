// Given events / when a command handler or the policy runs / then the events appended (or the error),
// over the in-memory event store with the real repository.
import {
  ORDER_EVENT_TYPES,
  orderStream,
  RESERVATION_EVENT_TYPES,
  reservationStream,
  type OrderEvent,
  type OrderPlaced,
  type ReservationEvent,
} from '@app/contracts';
import { fixedClock } from '@app/core';
import { CommandSpec, commandBusFor, fromOutside } from '@app/event-sourcing/testing';
import { orderType } from '../infrastructure/orders.repositories.js';
import { CancelOrderCommand } from './cancel-order/cancel-order.command.js';
import { CancelOrderHandler } from './cancel-order/cancel-order.handler.js';
import { PlaceOrderCommand } from './place-order/place-order.command.js';
import { PlaceOrderHandler } from './place-order/place-order.handler.js';
import { SettleOrderCommand } from './settle-order/settle-order.command.js';
import { SettleOrderHandler } from './settle-order/settle-order.handler.js';
import { StockAnswerPolicy } from './settle-order/stock-answer.policy.js';

const at = '2026-01-02T03:04:05.000Z';
const orderId = '7d9a3c1e-0000-4000-8000-000000000001';
const order = { orderId, customerId: 'c-1', currency: 'EUR', lines: [{ sku: 'APPLE', quantity: 3, unitPrice: 0.5 }] };
const placed: OrderPlaced = { type: 'OrderPlaced', data: { ...order, total: 1.5, placedAt: at } };
const confirmed: OrderEvent = { type: 'OrderConfirmed', data: { orderId, confirmedAt: at } };
const rejected: OrderEvent = { type: 'OrderRejected', data: { orderId, reason: 'Insufficient stock', rejectedAt: at } };
const cancelled = (reason: string | null): OrderEvent => ({
  type: 'OrderCancelled',
  data: { orderId, reason, cancelledAt: at },
});
const inOrder = (event: OrderEvent) => ({ streamId: orderStream(orderId), ...event });

const setUp = () => {
  const spec = new CommandSpec(ORDER_EVENT_TYPES, RESERVATION_EVENT_TYPES);
  const orders = spec.repository(orderType);
  const clock = fixedClock(at);
  const settle = new SettleOrderHandler(orders, clock);
  return {
    spec,
    place: new PlaceOrderHandler(orders, clock),
    cancel: new CancelOrderHandler(orders, clock),
    settle,
    policy: new StockAnswerPolicy(commandBusFor([SettleOrderCommand, settle])),
  };
};

describe('orders command handlers', () => {
  describe('PlaceOrder', () => {
    it('starts the order stream with OrderPlaced and its total', async () => {
      const { spec, place } = setUp();
      const result = await spec.when(() => place.execute(new PlaceOrderCommand(order, fromOutside())));
      spec.then([inOrder(placed)]);
      expect(result).toEqual({ id: orderId, version: 1 });
    });

    it('refuses an order with no lines', async () => {
      const { spec, place } = setUp();
      await spec.when(() => place.execute(new PlaceOrderCommand({ ...order, lines: [] }, fromOutside())));
      spec.thenFails('ORDER_INVALID');
    });
  });

  describe('SettleOrder', () => {
    it('confirms a pending order when stock was reserved', async () => {
      const { spec, settle } = setUp();
      await spec.given(orderStream(orderId), [placed]);
      await spec.when(() => settle.execute(new SettleOrderCommand(orderId, { reserved: true }, fromOutside())));
      spec.then([inOrder(confirmed)]);
    });

    it('rejects a pending order with the reason', async () => {
      const { spec, settle } = setUp();
      await spec.given(orderStream(orderId), [placed]);
      const outcome = { reserved: false, reason: 'Insufficient stock' } as const;
      await spec.when(() => settle.execute(new SettleOrderCommand(orderId, outcome, fromOutside())));
      spec.then([inOrder(rejected)]);
    });

    it('settles nothing for an order cancelled meanwhile', async () => {
      const { spec, settle } = setUp();
      await spec.given(orderStream(orderId), [placed, cancelled(null)]);
      await spec.when(() => settle.execute(new SettleOrderCommand(orderId, { reserved: true }, fromOutside())));
      spec.thenNothingHappens();
    });

    it('fails for an unknown order', async () => {
      const { spec, settle } = setUp();
      await spec.when(() => settle.execute(new SettleOrderCommand(orderId, { reserved: true }, fromOutside())));
      spec.thenFails('ORDER_NOT_FOUND');
    });
  });

  describe('CancelOrder', () => {
    it('cancels a confirmed order with the reason', async () => {
      const { spec, cancel } = setUp();
      await spec.given(orderStream(orderId), [placed, confirmed]);
      await spec.when(() => cancel.execute(new CancelOrderCommand(orderId, 'changed my mind', fromOutside())));
      spec.then([inOrder(cancelled('changed my mind'))]);
    });

    it('refuses a rejected order', async () => {
      const { spec, cancel } = setUp();
      await spec.given(orderStream(orderId), [placed, rejected]);
      await spec.when(() => cancel.execute(new CancelOrderCommand(orderId, undefined, fromOutside())));
      spec.thenFails('ORDER_NOT_CANCELLABLE');
    });
  });
});

describe('StockAnswerPolicy', () => {
  const reserved: ReservationEvent = {
    type: 'StockReserved',
    data: { orderId, lines: [{ sku: 'APPLE', quantity: 3 }], reservedAt: at },
  };
  const refused: ReservationEvent = {
    type: 'StockReservationRejected',
    data: {
      orderId,
      reason: 'Insufficient stock',
      shortages: [{ sku: 'APPLE', requested: 3, available: 1 }],
      rejectedAt: at,
    },
  };

  it('confirms the order when inventory reserved its stock', async () => {
    const { spec, policy } = setUp();
    await spec.given(orderStream(orderId), [placed]);
    const [answer] = await spec.given(reservationStream(orderId), [reserved]);
    await spec.when(() => policy.handle(answer!));
    spec.then([inOrder(confirmed)]);
  });

  it('rejects the order with inventory’s reason', async () => {
    const { spec, policy } = setUp();
    await spec.given(orderStream(orderId), [placed]);
    const [answer] = await spec.given(reservationStream(orderId), [refused]);
    await spec.when(() => policy.handle(answer!));
    spec.then([inOrder(rejected)]);
  });

  it('settles nothing twice when the answer is delivered again', async () => {
    const { spec, policy } = setUp();
    await spec.given(orderStream(orderId), [placed]);
    const [answer] = await spec.given(reservationStream(orderId), [reserved]);
    await policy.handle(answer!);
    await spec.when(() => policy.handle(answer!));
    spec.thenNothingHappens();
  });
});
