import type { DomainEvent } from '@app/core';

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

export const ORDER_EVENT_TYPES = [
  { type: 'OrderPlaced', schemaVersion: 1 },
  { type: 'OrderConfirmed', schemaVersion: 1 },
  { type: 'OrderRejected', schemaVersion: 1 },
  { type: 'OrderCancelled', schemaVersion: 1 },
] as const satisfies readonly { type: OrderEvent['type']; schemaVersion: number }[];
