import { AggregateRoot } from '@app/core';
import type { ShipmentLine, ShippingOrderEvent } from '@app/contracts';

/**
 * What shipping keeps of an order it may have to ship: its lines, recorded when the order was placed
 * (the orders context's OrderPlaced), read when the order is confirmed. A redelivered OrderPlaced records
 * nothing twice.
 */
export class ShippingOrder extends AggregateRoot<ShippingOrderEvent> {
  #lines: readonly ShipmentLine[] = [];

  get lines(): readonly ShipmentLine[] {
    return this.#lines;
  }

  record(orderId: string, lines: readonly ShipmentLine[], now: Date): void {
    if (this.exists) return;
    this.raise({
      type: 'OrderLinesRecorded',
      data: { orderId, lines: lines.map(({ sku, quantity }) => ({ sku, quantity })), recordedAt: now.toISOString() },
    });
  }

  protected override evolve(event: ShippingOrderEvent): void {
    this.#lines = event.data.lines;
  }
}
