// Given events / when a command handler or the policy runs / then the events appended (or the error),
// over the in-memory event store with the real repositories.
import type { OrderCancelled, OrderConfirmed, OrderPlaced } from '@app/contracts';
import {
  ORDER_EVENT_TYPES,
  orderStream,
  SHIPMENT_EVENT_TYPES,
  shipmentStream,
  SHIPPING_ORDER_EVENT_TYPES,
  shippingOrderStream,
  type ShipmentEvent,
} from '@app/contracts';
import { fixedClock } from '@app/core';
import { CommandSpec, commandBusFor, fromOutside } from '@app/event-sourcing/testing';
import { shipmentIdOf, shipmentType, shippingOrderType } from '../infrastructure/shipping.repositories.js';
import { CancelShipmentHandler } from './cancel-shipment/cancel-shipment.handler.js';
import { CreateShipmentHandler } from './create-shipment/create-shipment.handler.js';
import { OrderShipmentPolicy } from './create-shipment/order-shipment.policy.js';
import { DeliverShipmentHandler } from './deliver-shipment/deliver-shipment.handler.js';
import { DispatchShipmentHandler } from './dispatch-shipment/dispatch-shipment.handler.js';
import { RecordOrderLinesHandler } from './record-order-lines/record-order-lines.handler.js';
import { CancelShipmentCommand } from './cancel-shipment/cancel-shipment.command.js';
import { CreateShipmentCommand } from './create-shipment/create-shipment.command.js';
import { DeliverShipmentCommand } from './deliver-shipment/deliver-shipment.command.js';
import { DispatchShipmentCommand } from './dispatch-shipment/dispatch-shipment.command.js';
import { RecordOrderLinesCommand } from './record-order-lines/record-order-lines.command.js';

const now = new Date('2026-01-02T03:04:05.000Z');
const at = now.toISOString();
const orderId = '7d9a3c1e-0000-4000-8000-000000000001';
const shipmentId = shipmentIdOf(orderId);
const lines = [{ sku: 'APPLE', quantity: 3 }];

const recorded = { type: 'OrderLinesRecorded', data: { orderId, lines, recordedAt: at } } as const;
const created: ShipmentEvent = { type: 'ShipmentCreated', data: { shipmentId, orderId, lines, createdAt: at } };
const dispatched: ShipmentEvent = {
  type: 'ShipmentDispatched',
  data: { shipmentId, orderId, carrier: 'DHL', trackingCode: 'JD0146', dispatchedAt: at },
};
const cancelled = (reason: string | null): ShipmentEvent => ({
  type: 'ShipmentCancelled',
  data: { shipmentId, orderId, reason, cancelledAt: at },
});
const inShipment = (event: ShipmentEvent) => ({ streamId: shipmentStream(shipmentId), ...event });

/** The context's handlers on one in-memory store, and a command bus that routes to them. */
const setUp = () => {
  const spec = new CommandSpec(SHIPMENT_EVENT_TYPES, SHIPPING_ORDER_EVENT_TYPES, ORDER_EVENT_TYPES);
  const clock = fixedClock(at);
  const shipments = spec.repository(shipmentType);
  const orders = spec.repository(shippingOrderType);
  const handlers = {
    record: new RecordOrderLinesHandler(orders, clock),
    create: new CreateShipmentHandler(orders, shipments, clock),
    cancel: new CancelShipmentHandler(shipments, clock),
    dispatch: new DispatchShipmentHandler(shipments, clock),
    deliver: new DeliverShipmentHandler(shipments, clock),
  };
  const policy = new OrderShipmentPolicy(
    commandBusFor(
      [RecordOrderLinesCommand, handlers.record],
      [CreateShipmentCommand, handlers.create],
      [CancelShipmentCommand, handlers.cancel],
    ),
  );
  return { spec, handlers, policy };
};

describe('shipping command handlers', () => {
  describe('RecordOrderLines', () => {
    it('keeps the lines of a placed order in its own stream', async () => {
      const { spec, handlers } = setUp();
      await spec.when(() => handlers.record.execute(new RecordOrderLinesCommand(orderId, lines, fromOutside())));
      spec.then([{ streamId: shippingOrderStream(orderId), ...recorded }]);
    });
  });

  describe('CreateShipment', () => {
    it('creates the shipment of a confirmed order, under the id derived from the order id', async () => {
      const { spec, handlers } = setUp();
      await spec.given(shippingOrderStream(orderId), [recorded]);
      const result = await spec.when(() => handlers.create.execute(new CreateShipmentCommand(orderId, fromOutside())));
      spec.then([inShipment(created)]);
      expect(result).toEqual({ id: shipmentId, version: 1 });
    });

    it('creates nothing the second time', async () => {
      const { spec, handlers } = setUp();
      await spec.given(shippingOrderStream(orderId), [recorded]);
      await spec.given(shipmentStream(shipmentId), [created]);
      await spec.when(() => handlers.create.execute(new CreateShipmentCommand(orderId, fromOutside())));
      spec.thenNothingHappens();
    });

    it('fails for an order it never saw placed', async () => {
      const { spec, handlers } = setUp();
      await spec.when(() => handlers.create.execute(new CreateShipmentCommand(orderId, fromOutside())));
      spec.thenFails('SHIPPING_ORDER_NOT_FOUND');
    });
  });

  describe('CancelShipment', () => {
    it('cancels a shipment awaiting dispatch', async () => {
      const { spec, handlers } = setUp();
      await spec.given(shipmentStream(shipmentId), [created]);
      await spec.when(() => handlers.cancel.execute(new CancelShipmentCommand(orderId, 'no longer', fromOutside())));
      spec.then([inShipment(cancelled('no longer'))]);
    });

    it('leaves a dispatched shipment dispatched', async () => {
      const { spec, handlers } = setUp();
      await spec.given(shipmentStream(shipmentId), [created, dispatched]);
      await spec.when(() => handlers.cancel.execute(new CancelShipmentCommand(orderId, null, fromOutside())));
      spec.thenNothingHappens();
    });

    it('does nothing for an order that never had a shipment', async () => {
      const { spec, handlers } = setUp();
      await spec.given(shippingOrderStream(orderId), [recorded]);
      await spec.when(() => handlers.cancel.execute(new CancelShipmentCommand(orderId, null, fromOutside())));
      spec.thenNothingHappens();
    });
  });

  describe('DispatchShipment', () => {
    it('dispatches a shipment awaiting dispatch', async () => {
      const { spec, handlers } = setUp();
      await spec.given(shipmentStream(shipmentId), [created]);
      const dispatch = { carrier: 'DHL', trackingCode: 'JD0146' };
      await spec.when(() =>
        handlers.dispatch.execute(new DispatchShipmentCommand(shipmentId, dispatch, fromOutside())),
      );
      spec.then([inShipment(dispatched)]);
    });

    it('refuses a cancelled shipment', async () => {
      const { spec, handlers } = setUp();
      await spec.given(shipmentStream(shipmentId), [created, cancelled(null)]);
      const dispatch = { carrier: 'DHL', trackingCode: 'JD0146' };
      await spec.when(() =>
        handlers.dispatch.execute(new DispatchShipmentCommand(shipmentId, dispatch, fromOutside())),
      );
      spec.thenFails('SHIPMENT_TRANSITION_INVALID');
    });

    it('refuses an unknown shipment', async () => {
      const { spec, handlers } = setUp();
      const dispatch = { carrier: 'DHL', trackingCode: 'JD0146' };
      await spec.when(() =>
        handlers.dispatch.execute(new DispatchShipmentCommand(shipmentId, dispatch, fromOutside())),
      );
      spec.thenFails('SHIPMENT_NOT_FOUND');
    });
  });

  describe('DeliverShipment', () => {
    it('delivers a dispatched shipment', async () => {
      const { spec, handlers } = setUp();
      await spec.given(shipmentStream(shipmentId), [created, dispatched]);
      await spec.when(() => handlers.deliver.execute(new DeliverShipmentCommand(shipmentId, fromOutside())));
      spec.then([inShipment({ type: 'ShipmentDelivered', data: { shipmentId, orderId, deliveredAt: at } })]);
    });

    it('refuses a shipment awaiting dispatch', async () => {
      const { spec, handlers } = setUp();
      await spec.given(shipmentStream(shipmentId), [created]);
      await spec.when(() => handlers.deliver.execute(new DeliverShipmentCommand(shipmentId, fromOutside())));
      spec.thenFails('SHIPMENT_TRANSITION_INVALID');
    });
  });
});

describe('OrderShipmentPolicy', () => {
  const placed: OrderPlaced = {
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
  const confirmed: OrderConfirmed = { type: 'OrderConfirmed', data: { orderId, confirmedAt: at } };
  const orderCancelled: OrderCancelled = {
    type: 'OrderCancelled',
    data: { orderId, reason: 'no longer', cancelledAt: at },
  };

  it('keeps the lines (without prices) when an order is placed', async () => {
    const { spec, policy } = setUp();
    const [event] = await spec.given(orderStream(orderId), [placed]);
    await spec.when(() => policy.handle(event!));
    spec.then([{ streamId: shippingOrderStream(orderId), ...recorded }]);
  });

  it('creates the shipment when the order is confirmed', async () => {
    const { spec, policy } = setUp();
    await spec.given(shippingOrderStream(orderId), [recorded]);
    const [, event] = await spec.given(orderStream(orderId), [placed, confirmed]);
    await spec.when(() => policy.handle(event!));
    spec.then([inShipment(created)]);
  });

  it('cancels the shipment when the order is cancelled', async () => {
    const { spec, policy } = setUp();
    await spec.given(shipmentStream(shipmentId), [created]);
    const [, , event] = await spec.given(orderStream(orderId), [placed, confirmed, orderCancelled]);
    await spec.when(() => policy.handle(event!));
    spec.then([inShipment(cancelled('no longer'))]);
  });

  it('changes nothing when a confirmation is delivered twice', async () => {
    const { spec, policy } = setUp();
    await spec.given(shippingOrderStream(orderId), [recorded]);
    const [, event] = await spec.given(orderStream(orderId), [placed, confirmed]);
    await policy.handle(event!);
    await spec.when(() => policy.handle(event!));
    spec.thenNothingHappens();
  });
});
