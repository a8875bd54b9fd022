import type { OrderEvent, OrderLine } from '@app/contracts';
import type { CollectionDefinition } from '@app/read-models';
import type { OrderStatus } from '../../domain/order.js';

/** What `GET /orders/{id}` and `GET /orders` return: one document per order, built only from events. */
export interface OrderSummary {
  readonly id: string;
  readonly customerId: string;
  readonly status: OrderStatus;
  readonly lines: readonly OrderLine[];
  readonly total: number;
  readonly currency: string;
  readonly placedAt: string;
  readonly updatedAt: string;
  /** Why inventory rejected the order, or why it was cancelled. */
  readonly statusReason: string | null;
  /** Version of the order stream this document reflects. */
  readonly version: number;
}

export const ORDER_SUMMARIES: CollectionDefinition<OrderSummary> = {
  name: 'order_summaries',
  sort: { field: 'placedAt', direction: 'desc' },
  filterFields: ['status', 'customerId'],
};

export const ORDER_SUMMARY_EVENTS = ['OrderPlaced', 'OrderConfirmed', 'OrderRejected', 'OrderCancelled'] as const;

/** How each event changes the summary. */
export const evolveOrderSummary = (
  current: OrderSummary | undefined,
  event: OrderEvent,
): Omit<OrderSummary, 'version'> => {
  if (event.type === 'OrderPlaced') {
    const { orderId, customerId, lines, total, currency, placedAt } = event.data;
    return {
      id: orderId,
      customerId,
      status: 'PENDING',
      lines,
      total,
      currency,
      placedAt,
      updatedAt: placedAt,
      statusReason: null,
    };
  }
  if (!current) throw new Error(`${event.type} for order ${event.data.orderId} before OrderPlaced`);
  switch (event.type) {
    case 'OrderConfirmed':
      return { ...current, status: 'CONFIRMED', updatedAt: event.data.confirmedAt };
    case 'OrderRejected':
      return { ...current, status: 'REJECTED', statusReason: event.data.reason, updatedAt: event.data.rejectedAt };
    case 'OrderCancelled':
      return { ...current, status: 'CANCELLED', statusReason: event.data.reason, updatedAt: event.data.cancelledAt };
  }
};
