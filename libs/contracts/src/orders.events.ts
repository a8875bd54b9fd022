import { z } from 'zod';
import type { DomainEvent } from '@app/core';
import { field } from './event-fields.js';
import { defineEventTypes } from './event-schemas.js';

/**
 * Events the orders context publishes (topic `orders.order`, key = stream id `Order-<orderId>`).
 * Public contract: change a shape only by adding a new schema version with an upcaster.
 */
export const ORDER_CATEGORY = 'Order';
export const orderStream = (orderId: string): string => `${ORDER_CATEGORY}-${orderId}`;

export interface OrderLine {
  readonly sku: string;
  readonly quantity: number;
  /** Price per unit in the order's currency, at most 2 decimals. */
  readonly unitPrice: number;
}

export type OrderPlaced = DomainEvent<
  'OrderPlaced',
  {
    readonly orderId: string;
    readonly customerId: string;
    readonly currency: string;
    readonly lines: readonly OrderLine[];
    /** Sum of quantity x unitPrice, rounded to cents. */
    readonly total: number;
    readonly placedAt: string;
  }
>;
export type OrderConfirmed = DomainEvent<'OrderConfirmed', { readonly orderId: string; readonly confirmedAt: string }>;
export type OrderRejected = DomainEvent<
  'OrderRejected',
  { readonly orderId: string; readonly reason: string; readonly rejectedAt: string }
>;
export type OrderCancelled = DomainEvent<
  'OrderCancelled',
  { readonly orderId: string; readonly reason: string | null; readonly cancelledAt: string }
>;

export type OrderEvent = OrderPlaced | OrderConfirmed | OrderRejected | OrderCancelled;

const { orderId, timestamp } = field;

/** The published contract of each orders event (consumers validate the data against it). */
export const ORDER_EVENT_TYPES = defineEventTypes<OrderEvent>()({
  OrderPlaced: {
    schemas: {
      1: z.object({
        orderId,
        customerId: field.id,
        currency: z.string().regex(/^[A-Z]{3}$/),
        lines: z
          .array(z.object({ sku: field.sku, quantity: field.quantity, unitPrice: field.amount }))
          .min(1)
          .max(100),
        total: field.amount,
        placedAt: timestamp,
      }),
    },
  },
  OrderConfirmed: { schemas: { 1: z.object({ orderId, confirmedAt: timestamp }) } },
  OrderRejected: { schemas: { 1: z.object({ orderId, reason: field.reason, rejectedAt: timestamp }) } },
  OrderCancelled: { schemas: { 1: z.object({ orderId, reason: field.reason.nullable(), cancelledAt: timestamp }) } },
});
