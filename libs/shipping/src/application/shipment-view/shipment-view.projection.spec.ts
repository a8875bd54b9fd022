import type { RecordedEvent } from '@app/core';
import { shipmentStream, type ShipmentEvent } from '@app/contracts';
import { InMemoryReadModelStore } from '@app/read-models';
import { ShipmentViewProjection } from './shipment-view.projection.js';

const shipmentId = '0c6f3f4e-2a1b-5c3d-9e8f-7a6b5c4d3e2f';
const orderId = '7d9a3c1e-0000-4000-8000-000000000001';
const lines = [{ sku: 'APPLE', quantity: 3 }];

const recorded = (version: number, event: ShipmentEvent): RecordedEvent => ({
  streamId: shipmentStream(shipmentId),
  version,
  type: event.type,
  schemaVersion: 1,
  data: event.data,
  metadata: { eventId: `e-${version}`, correlationId: 'c', causationId: 'c', occurredAt: '2026-01-02T00:00:00Z' },
});
const created = recorded(1, {
  type: 'ShipmentCreated',
  data: { shipmentId, orderId, lines, createdAt: '2026-01-02T00:00:01.000Z' },
});
const dispatched = recorded(2, {
  type: 'ShipmentDispatched',
  data: { shipmentId, orderId, carrier: 'DHL', trackingCode: 'JD0146', dispatchedAt: '2026-01-02T00:00:02.000Z' },
});
const delivered = recorded(3, {
  type: 'ShipmentDelivered',
  data: { shipmentId, orderId, deliveredAt: '2026-01-02T00:00:03.000Z' },
});

describe('ShipmentViewProjection', () => {
  const setUp = () => new ShipmentViewProjection(new InMemoryReadModelStore());

  it('shows a created shipment awaiting dispatch, with no carrier yet', async () => {
    const projection = setUp();
    await projection.handle(created);
    expect(await projection.collection.get(shipmentId)).toEqual({
      id: shipmentId,
      orderId,
      status: 'AWAITING_DISPATCH',
      lines,
      carrier: null,
      trackingCode: null,
      createdAt: '2026-01-02T00:00:01.000Z',
      updatedAt: '2026-01-02T00:00:01.000Z',
      version: 1,
    });
  });

  it('follows dispatch and delivery, in one batch, applying a redelivery once', async () => {
    const projection = setUp();
    await projection.handleBatch([created, dispatched, dispatched, delivered]);
    expect(await projection.collection.get(shipmentId)).toMatchObject({
      status: 'DELIVERED',
      carrier: 'DHL',
      trackingCode: 'JD0146',
      updatedAt: '2026-01-02T00:00:03.000Z',
      version: 3,
    });
  });

  it('refuses an event that skips one (a gap), so the transport redelivers in order', async () => {
    const projection = setUp();
    await projection.handle(created);
    await expect(projection.handle(delivered)).rejects.toMatchObject({ code: 'PROJECTION_GAP' });
  });

  it('is empty again after a reset (before a rebuild)', async () => {
    const projection = setUp();
    await projection.handle(created);
    await projection.reset();
    expect(await projection.collection.get(shipmentId)).toBeUndefined();
  });
});
