import type { DomainEvent } from '@app/core';

/**
 * Events the inventory context publishes. Two aggregates:
 * - `Product-<sku>` (topic `inventory.product`): stock levels of one product;
 * - `Reservation-<orderId>` (topic `inventory.reservation`): the outcome of reserving an order's lines,
 *   which is what the orders context listens to.
 */
export const PRODUCT_CATEGORY = 'Product';
export const RESERVATION_CATEGORY = 'Reservation';
export const productStream = (sku: string): string => `${PRODUCT_CATEGORY}-${sku}`;
export const reservationStream = (orderId: string): string => `${RESERVATION_CATEGORY}-${orderId}`;

export interface ReservedLine {
  readonly sku: string;
  readonly quantity: number;
}

export type ProductRegistered = DomainEvent<
  'ProductRegistered',
  { readonly sku: string; readonly name: string; readonly initialStock: number; readonly registeredAt: string }
>;
export type ProductRestocked = DomainEvent<
  'ProductRestocked',
  { readonly sku: string; readonly quantity: number; readonly restockedAt: string }
>;
export type ProductStockReserved = DomainEvent<
  'ProductStockReserved',
  { readonly sku: string; readonly orderId: string; readonly quantity: number; readonly reservedAt: string }
>;
export type ProductStockReleased = DomainEvent<
  'ProductStockReleased',
  { readonly sku: string; readonly orderId: string; readonly quantity: number; readonly releasedAt: string }
>;
export type ProductEvent = ProductRegistered | ProductRestocked | ProductStockReserved | ProductStockReleased;

export type StockReserved = DomainEvent<
  'StockReserved',
  { readonly orderId: string; readonly lines: readonly ReservedLine[]; readonly reservedAt: string }
>;
export type StockReservationRejected = DomainEvent<
  'StockReservationRejected',
  {
    readonly orderId: string;
    readonly reason: string;
    /** Lines that could not be served, with what was available. */
    readonly shortages: readonly { readonly sku: string; readonly requested: number; readonly available: number }[];
    readonly rejectedAt: string;
  }
>;
export type ReservationReleased = DomainEvent<
  'ReservationReleased',
  { readonly orderId: string; readonly lines: readonly ReservedLine[]; readonly releasedAt: string }
>;
export type ReservationEvent = StockReserved | StockReservationRejected | ReservationReleased;

export const PRODUCT_EVENT_TYPES = [
  { type: 'ProductRegistered', schemaVersion: 1 },
  { type: 'ProductRestocked', schemaVersion: 1 },
  { type: 'ProductStockReserved', schemaVersion: 1 },
  { type: 'ProductStockReleased', schemaVersion: 1 },
] as const satisfies readonly { type: ProductEvent['type']; schemaVersion: number }[];

export const RESERVATION_EVENT_TYPES = [
  { type: 'StockReserved', schemaVersion: 1 },
  { type: 'StockReservationRejected', schemaVersion: 1 },
  { type: 'ReservationReleased', schemaVersion: 1 },
] as const satisfies readonly { type: ReservationEvent['type']; schemaVersion: number }[];
