import type { ShipmentEvent, ShipmentLine } from '@app/contracts';
import type { CollectionDefinition } from '@app/read-models';
import type { ShipmentStatus } from '../../domain/shipment.js';

/** What `GET /shipments/{id}` and `GET /shipments` return: one document per shipment, built only from events. */
export interface ShipmentView {
  readonly id: string;
  readonly orderId: string;
  readonly status: ShipmentStatus;
  readonly lines: readonly ShipmentLine[];
  readonly carrier: string | null;
  readonly trackingCode: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Version of the shipment stream this document reflects. */
  readonly version: number;
}

export const SHIPMENT_VIEWS: CollectionDefinition<ShipmentView> = {
  name: 'shipment_views',
  sort: { field: 'createdAt', direction: 'desc' },
  filterFields: ['orderId', 'status'],
};

export const SHIPMENT_VIEW_EVENTS = [
  'ShipmentCreated',
  'ShipmentDispatched',
  'ShipmentDelivered',
  'ShipmentCancelled',
] as const satisfies readonly ShipmentEvent['type'][];

/** How each event changes the view. */
export const evolveShipmentView = (
  current: ShipmentView | undefined,
  event: ShipmentEvent,
): Omit<ShipmentView, 'version'> => {
  if (event.type === 'ShipmentCreated') {
    const { shipmentId, orderId, lines, createdAt } = event.data;
    return {
      id: shipmentId,
      orderId,
      status: 'AWAITING_DISPATCH',
      lines,
      carrier: null,
      trackingCode: null,
      createdAt,
      updatedAt: createdAt,
    };
  }
  if (!current) throw new Error(`${event.type} for shipment ${event.data.shipmentId} before ShipmentCreated`);
  switch (event.type) {
    case 'ShipmentDispatched': {
      const { carrier, trackingCode, dispatchedAt } = event.data;
      return { ...current, status: 'DISPATCHED', carrier, trackingCode, updatedAt: dispatchedAt };
    }
    case 'ShipmentDelivered':
      return { ...current, status: 'DELIVERED', updatedAt: event.data.deliveredAt };
    case 'ShipmentCancelled':
      return { ...current, status: 'CANCELLED', updatedAt: event.data.cancelledAt };
  }
};
