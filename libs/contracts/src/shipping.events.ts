import { z } from 'zod';
import type { DomainEvent } from '@app/core';
import { defineEventTypes } from './event-schemas.js';
import { SKU_PATTERN } from './identifiers.js';

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

const id = z.uuid();
const timestamp = z.iso.datetime({ offset: true });
const lines = z
  .array(z.object({ sku: z.string().regex(SKU_PATTERN), quantity: z.number().int().positive().max(1_000_000_000) }))
  .min(1)
  .max(100);

/** The published contract of each shipping event (consumers validate the data against it). */
export const SHIPPING_ORDER_EVENT_TYPES = defineEventTypes<ShippingOrderEvent>()({
  OrderLinesRecorded: { schemas: { 1: z.object({ orderId: id, lines, recordedAt: timestamp }) } },
});

export const SHIPMENT_EVENT_TYPES = defineEventTypes<ShipmentEvent>()({
  ShipmentCreated: { schemas: { 1: z.object({ shipmentId: id, orderId: id, lines, createdAt: timestamp }) } },
  ShipmentDispatched: {
    schemas: {
      1: z.object({
        shipmentId: id,
        orderId: id,
        carrier: z.string().min(1).max(200),
        trackingCode: z.string().min(1).max(200),
        dispatchedAt: timestamp,
      }),
    },
  },
  ShipmentDelivered: { schemas: { 1: z.object({ shipmentId: id, orderId: id, deliveredAt: timestamp }) } },
  ShipmentCancelled: {
    schemas: {
      1: z.object({ shipmentId: id, orderId: id, reason: z.string().max(2_000).nullable(), cancelledAt: timestamp }),
    },
  },
});
