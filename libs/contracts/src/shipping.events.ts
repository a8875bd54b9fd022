import type { DomainEvent } from '@app/core';

/**
 * Events the shipping context publishes. Two aggregates:
 * - `ShippingOrder-<orderId>` (topic `shipping.order`): what shipping keeps of a placed order (its lines),
 *   taken from the orders context's OrderPlaced, until the order is confirmed;
 * - `Shipment-<shipmentId>` (topic `shipping.shipment`): one per confirmed order, its id derived from the
 *   order id; AWAITING_DISPATCH -> DISPATCHED -> DELIVERED, or AWAITING_DISPATCH -> CANCELLED.
 */
export const SHIPPING_ORDER_CATEGORY = 'ShippingOrder';
export const SHIPMENT_CATEGORY = 'Shipment';
export const shippingOrderStream = (orderId: string): string => `${SHIPPING_ORDER_CATEGORY}-${orderId}`;
export const shipmentStream = (shipmentId: string): string => `${SHIPMENT_CATEGORY}-${shipmentId}`;

export interface ShipmentLine {
  readonly sku: string;
  readonly quantity: number;
}

export type OrderLinesRecorded = DomainEvent<
  'OrderLinesRecorded',
  { readonly orderId: string; readonly lines: readonly ShipmentLine[]; readonly recordedAt: string }
>;
export type ShippingOrderEvent = OrderLinesRecorded;

export type ShipmentCreated = DomainEvent<
  'ShipmentCreated',
  {
    readonly shipmentId: string;
    readonly orderId: string;
    readonly lines: readonly ShipmentLine[];
    readonly createdAt: string;
  }
>;
export type ShipmentDispatched = DomainEvent<
  'ShipmentDispatched',
  {
    readonly shipmentId: string;
    readonly orderId: string;
    readonly carrier: string;
    readonly trackingCode: string;
    readonly dispatchedAt: string;
  }
>;
export type ShipmentDelivered = DomainEvent<
  'ShipmentDelivered',
  { readonly shipmentId: string; readonly orderId: string; readonly deliveredAt: string }
>;
export type ShipmentCancelled = DomainEvent<
  'ShipmentCancelled',
  {
    readonly shipmentId: string;
    readonly orderId: string;
    readonly reason: string | null;
    readonly cancelledAt: string;
  }
>;
export type ShipmentEvent = ShipmentCreated | ShipmentDispatched | ShipmentDelivered | ShipmentCancelled;

export const SHIPPING_ORDER_EVENT_TYPES = [
  { type: 'OrderLinesRecorded', schemaVersion: 1 },
] as const satisfies readonly { type: ShippingOrderEvent['type']; schemaVersion: number }[];

export const SHIPMENT_EVENT_TYPES = [
  { type: 'ShipmentCreated', schemaVersion: 1 },
  { type: 'ShipmentDispatched', schemaVersion: 1 },
  { type: 'ShipmentDelivered', schemaVersion: 1 },
  { type: 'ShipmentCancelled', schemaVersion: 1 },
] as const satisfies readonly { type: ShipmentEvent['type']; schemaVersion: number }[];
