import { given } from '@app/core/testing';
import type { ShipmentCancelled, ShipmentCreated, ShipmentDelivered, ShipmentDispatched } from '@app/contracts';
import { Shipment } from './shipment.js';

const now = new Date('2026-01-02T03:04:05.000Z');
const at = now.toISOString();
const shipmentId = '0c6f3f4e-2a1b-5c3d-9e8f-7a6b5c4d3e2f';
const orderId = '7d9a3c1e-0000-4000-8000-000000000001';
const lines = [{ sku: 'APPLE', quantity: 3 }];
const created: ShipmentCreated = { type: 'ShipmentCreated', data: { shipmentId, orderId, lines, createdAt: at } };
const dispatched: ShipmentDispatched = {
  type: 'ShipmentDispatched',
  data: { shipmentId, orderId, carrier: 'DHL', trackingCode: 'JD0146', dispatchedAt: at },
};
const delivered: ShipmentDelivered = { type: 'ShipmentDelivered', data: { shipmentId, orderId, deliveredAt: at } };
const cancelled: ShipmentCancelled = {
  type: 'ShipmentCancelled',
  data: { shipmentId, orderId, reason: 'changed my mind', cancelledAt: at },
};
const shipment = () => new Shipment();

describe('Shipment', () => {
  describe('when its order is confirmed', () => {
    it('is created awaiting dispatch with the order lines', () => {
      given(shipment)
        .when((s) => s.create(shipmentId, orderId, lines, now))
        .then([created]);
    });

    it('creates nothing on a repeated confirmation', () => {
      given(shipment, [created])
        .when((s) => s.create(shipmentId, orderId, lines, now))
        .thenNothingHappens();
    });
  });

  describe('when dispatched', () => {
    it('records the carrier and tracking code', () => {
      given(shipment, [created])
        .when((s) => s.dispatch({ carrier: 'DHL', trackingCode: 'JD0146' }, now))
        .then([dispatched]);
    });

    it.each([
      ['already dispatched', [created, dispatched]],
      ['delivered', [created, dispatched, delivered]],
      ['cancelled', [created, cancelled]],
    ])('refuses when %s', (_, history) => {
      given(shipment, history)
        .when((s) => s.dispatch({ carrier: 'DHL', trackingCode: 'X1' }, now))
        .thenFails('SHIPMENT_TRANSITION_INVALID');
    });
  });

  describe('when delivered', () => {
    it('delivers a dispatched shipment', () => {
      given(shipment, [created, dispatched])
        .when((s) => s.deliver(now))
        .then([delivered]);
    });

    it.each([
      ['awaiting dispatch', [created]],
      ['already delivered', [created, dispatched, delivered]],
      ['cancelled', [created, cancelled]],
    ])('refuses when %s', (_, history) => {
      given(shipment, history)
        .when((s) => s.deliver(now))
        .thenFails('SHIPMENT_TRANSITION_INVALID');
    });
  });

  describe('when its order is cancelled', () => {
    it('cancels a shipment awaiting dispatch', () => {
      given(shipment, [created])
        .when((s) => s.cancel('changed my mind', now))
        .then([cancelled]);
    });

    it.each([
      ['dispatched', [created, dispatched]],
      ['delivered', [created, dispatched, delivered]],
      ['already cancelled', [created, cancelled]],
    ])('leaves a %s shipment as it is', (_, history) => {
      given(shipment, history)
        .when((s) => s.cancel(null, now))
        .thenNothingHappens();
    });
  });
});
