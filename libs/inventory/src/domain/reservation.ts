import { AggregateRoot } from '@app/core';
import type { ReservationEvent, ReservedLine } from '@app/contracts';

export type ReservationStatus = 'RESERVED' | 'REJECTED' | 'RELEASED';

export interface Shortage {
  readonly sku: string;
  readonly requested: number;
  readonly available: number;
}

/**
 * The outcome of reserving one order's lines, decided once: RESERVED (every line held) or REJECTED
 * (some line short, nothing held); a RESERVED one becomes RELEASED when the order is cancelled. The
 * stock itself moves on the Product aggregates; this stream is the answer the orders context reads, and
 * the lock of the handlers that move the stock: they record the decision here first, then make the
 * products follow it (`holdsStock`).
 */
export class Reservation extends AggregateRoot<ReservationEvent> {
  #orderId = '';
  #status: ReservationStatus | undefined;
  #lines: readonly ReservedLine[] = [];

  get status(): ReservationStatus | undefined {
    return this.#status;
  }

  get lines(): readonly ReservedLine[] {
    return this.#lines;
  }

  get decided(): boolean {
    return this.#status !== undefined;
  }

  /** A RESERVED order holds its lines on the products; any other holds nothing there. */
  get holdsStock(): boolean {
    return this.#status === 'RESERVED';
  }

  /** Every line held (no shortage): reserve; otherwise reject. Nothing once decided. */
  decide(orderId: string, lines: readonly ReservedLine[], shortage: Shortage | undefined, now: Date): void {
    if (shortage) this.reject(orderId, [shortage], now);
    else this.accept(orderId, lines, now);
  }

  accept(orderId: string, lines: readonly ReservedLine[], now: Date): void {
    if (this.decided) return;
    this.raise({ type: 'StockReserved', data: { orderId, lines, reservedAt: now.toISOString() } });
  }

  reject(orderId: string, shortages: readonly Shortage[], now: Date): void {
    if (this.decided) return;
    const reason = `Insufficient stock for ${shortages.map((s) => s.sku).join(', ')}`;
    this.raise({
      type: 'StockReservationRejected',
      data: { orderId, reason, shortages, rejectedAt: now.toISOString() },
    });
  }

  /** Only a held reservation is released; a rejected or released one has nothing to give back. */
  release(now: Date): void {
    if (this.#status !== 'RESERVED') return;
    this.raise({
      type: 'ReservationReleased',
      data: { orderId: this.#orderId, lines: this.#lines, releasedAt: now.toISOString() },
    });
  }

  protected override evolve(event: ReservationEvent): void {
    switch (event.type) {
      case 'StockReserved':
        this.#orderId = event.data.orderId;
        this.#lines = event.data.lines;
        this.#status = 'RESERVED';
        return;
      case 'StockReservationRejected':
        this.#orderId = event.data.orderId;
        this.#status = 'REJECTED';
        return;
      case 'ReservationReleased':
        this.#status = 'RELEASED';
        return;
    }
  }
}

/** Merges lines of the same SKU and sorts by SKU, so every reservation touches products in one order. */
export const consolidateLines = (lines: readonly ReservedLine[]): ReservedLine[] => {
  const bySku = new Map<string, number>();
  for (const { sku, quantity } of lines) bySku.set(sku, (bySku.get(sku) ?? 0) + quantity);
  return [...bySku.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([sku, quantity]) => ({ sku, quantity }));
};
