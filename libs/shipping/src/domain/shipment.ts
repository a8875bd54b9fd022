import { AggregateRoot } from '@app/core';
import type { ShipmentEvent, ShipmentLine } from '@app/contracts';
import { shipmentTransitionRefused } from './shipping.errors.js';

export const SHIPMENT_STATUSES = ['AWAITING_DISPATCH', 'DISPATCHED', 'DELIVERED', 'CANCELLED'] as const;
export type ShipmentStatus = (typeof SHIPMENT_STATUSES)[number];

export interface Dispatch {
  readonly carrier: string;
  readonly trackingCode: string;
}

/**
 * A shipment's life: created AWAITING_DISPATCH when its order is confirmed; DISPATCHED by a carrier, then
 * DELIVERED; or CANCELLED when the order is cancelled before dispatch. A cancellation that comes after
 * dispatch leaves it DISPATCHED (the parcel is on its way). Creation and cancellation come from
 * redeliverable events, so repeating them is a no-op; dispatch and delivery come from clients, so a
 * transition the status does not allow is refused.
 */
export class Shipment extends AggregateRoot<ShipmentEvent> {
  #id = '';
  #orderId = '';
  #status: ShipmentStatus | undefined;

  get status(): ShipmentStatus | undefined {
    return this.#status;
  }

  /** The order was confirmed; a repeat (redelivered confirmation) creates nothing. */
  create(shipmentId: string, orderId: string, lines: readonly ShipmentLine[], now: Date): void {
    if (this.exists) return;
    this.raise({ type: 'ShipmentCreated', data: { shipmentId, orderId, lines, createdAt: now.toISOString() } });
  }

  dispatch({ carrier, trackingCode }: Dispatch, now: Date): void {
    if (this.#status !== 'AWAITING_DISPATCH') throw this.#refused('dispatched');
    this.raise({
      type: 'ShipmentDispatched',
      data: { shipmentId: this.#id, orderId: this.#orderId, carrier, trackingCode, dispatchedAt: now.toISOString() },
    });
  }

  deliver(now: Date): void {
    if (this.#status !== 'DISPATCHED') throw this.#refused('delivered');
    this.raise({
      type: 'ShipmentDelivered',
      data: { shipmentId: this.#id, orderId: this.#orderId, deliveredAt: now.toISOString() },
    });
  }

  /** The order was cancelled: only a shipment still waiting for dispatch is cancelled. */
  cancel(reason: string | null, now: Date): void {
    if (this.#status !== 'AWAITING_DISPATCH') return;
    this.raise({
      type: 'ShipmentCancelled',
      data: { shipmentId: this.#id, orderId: this.#orderId, reason, cancelledAt: now.toISOString() },
    });
  }

  #refused(action: string) {
    return shipmentTransitionRefused(this.#id, this.#status ?? 'UNKNOWN', action);
  }

  protected override evolve(event: ShipmentEvent): void {
    switch (event.type) {
      case 'ShipmentCreated':
        this.#id = event.data.shipmentId;
        this.#orderId = event.data.orderId;
        this.#status = 'AWAITING_DISPATCH';
        return;
      case 'ShipmentDispatched':
        this.#status = 'DISPATCHED';
        return;
      case 'ShipmentDelivered':
        this.#status = 'DELIVERED';
        return;
      case 'ShipmentCancelled':
        this.#status = 'CANCELLED';
        return;
    }
  }
}
