import { AggregateRoot } from '@app/core';
import type { OrderEvent, OrderLine } from '@app/contracts';
import { invalidOrder, orderAlreadyPlaced, orderNotCancellable } from './order.errors.js';

export type OrderStatus = 'PENDING' | 'CONFIRMED' | 'REJECTED' | 'CANCELLED';

export const MAX_ORDER_LINES = 100;

export interface PlaceOrder {
  readonly orderId: string;
  readonly customerId: string;
  readonly currency: string;
  readonly lines: readonly OrderLine[];
}

/**
 * An order's life: PENDING when placed; CONFIRMED or REJECTED by inventory's answer (never by a
 * client); PENDING or CONFIRMED orders can be CANCELLED. Answers that arrive late or twice are
 * no-ops, because they come from redeliverable events.
 */
export class Order extends AggregateRoot<OrderEvent> {
  #id = '';
  #customerId = '';
  #status: OrderStatus | undefined;

  get id(): string {
    return this.#id;
  }

  /** Who placed the order (its owner). */
  get customerId(): string {
    return this.#customerId;
  }

  get status(): OrderStatus | undefined {
    return this.#status;
  }

  place(command: PlaceOrder, now: Date): void {
    if (this.exists) throw orderAlreadyPlaced(this.#id);
    if (command.lines.length === 0 || command.lines.length > MAX_ORDER_LINES) {
      throw invalidOrder(`An order has 1 to ${MAX_ORDER_LINES} lines`, { lines: command.lines.length });
    }
    for (const line of command.lines) {
      if (!Number.isInteger(line.quantity) || line.quantity <= 0) {
        throw invalidOrder('Line quantity must be a positive integer', { sku: line.sku, quantity: line.quantity });
      }
      if (!Number.isFinite(line.unitPrice) || line.unitPrice < 0) {
        throw invalidOrder('Unit price must be zero or more', { sku: line.sku, unitPrice: line.unitPrice });
      }
    }
    this.raise({
      type: 'OrderPlaced',
      data: {
        orderId: command.orderId,
        customerId: command.customerId,
        currency: command.currency,
        lines: command.lines.map(({ sku, quantity, unitPrice }) => ({ sku, quantity, unitPrice })),
        total: orderTotal(command.lines),
        placedAt: now.toISOString(),
      },
    });
  }

  /** Stock was reserved: a pending order is confirmed; otherwise (cancelled meanwhile, repeat) nothing. */
  confirm(now: Date): void {
    if (this.#status !== 'PENDING') return;
    this.raise({ type: 'OrderConfirmed', data: { orderId: this.#id, confirmedAt: now.toISOString() } });
  }

  /** Stock could not be reserved: a pending order is rejected; otherwise nothing. */
  reject(reason: string, now: Date): void {
    if (this.#status !== 'PENDING') return;
    this.raise({ type: 'OrderRejected', data: { orderId: this.#id, reason, rejectedAt: now.toISOString() } });
  }

  cancel(reason: string | undefined, now: Date): void {
    if (this.#status !== 'PENDING' && this.#status !== 'CONFIRMED') {
      throw orderNotCancellable(this.#id, this.#status ?? 'UNKNOWN');
    }
    this.raise({
      type: 'OrderCancelled',
      data: { orderId: this.#id, reason: reason ?? null, cancelledAt: now.toISOString() },
    });
  }

  protected override evolve(event: OrderEvent): void {
    switch (event.type) {
      case 'OrderPlaced':
        this.#id = event.data.orderId;
        this.#customerId = event.data.customerId;
        this.#status = 'PENDING';
        return;
      case 'OrderConfirmed':
        this.#status = 'CONFIRMED';
        return;
      case 'OrderRejected':
        this.#status = 'REJECTED';
        return;
      case 'OrderCancelled':
        this.#status = 'CANCELLED';
        return;
    }
  }
}

/** Sum in integer cents, so 0.1 + 0.2 is 0.3 and not 0.30000000000000004. */
export const orderTotal = (lines: readonly OrderLine[]): number =>
  lines.reduce((cents, line) => cents + line.quantity * Math.round(line.unitPrice * 100), 0) / 100;
