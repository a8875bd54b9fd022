import { z } from 'zod';
import type { DomainEvent } from '@app/core';
import { field } from './event-fields.js';
import { defineEventTypes } from './event-schemas.js';

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

const { sku, orderId, quantity, timestamp } = field;
const reservedLine = z.object({ sku, quantity });

/** The published contract of each product event (consumers validate the data against it). */
export const PRODUCT_EVENT_TYPES = defineEventTypes<ProductEvent>()({
  ProductRegistered: {
    schemas: {
      1: z.object({
        sku,
        name: z.string().min(1).max(200),
        initialStock: z.number().int().nonnegative(),
        registeredAt: timestamp,
      }),
    },
  },
  ProductRestocked: { schemas: { 1: z.object({ sku, quantity, restockedAt: timestamp }) } },
  ProductStockReserved: { schemas: { 1: z.object({ sku, orderId, quantity, reservedAt: timestamp }) } },
  ProductStockReleased: { schemas: { 1: z.object({ sku, orderId, quantity, releasedAt: timestamp }) } },
});

/** The published contract of each reservation event (what the orders context listens to). */
export const RESERVATION_EVENT_TYPES = defineEventTypes<ReservationEvent>()({
  StockReserved: {
    schemas: { 1: z.object({ orderId, lines: z.array(reservedLine).min(1).max(100), reservedAt: timestamp }) },
  },
  StockReservationRejected: {
    schemas: {
      1: z.object({
        orderId,
        reason: field.reason,
        shortages: z.array(z.object({ sku, requested: quantity, available: z.number().int().nonnegative() })).max(100),
        rejectedAt: timestamp,
      }),
    },
  },
  ReservationReleased: {
    schemas: { 1: z.object({ orderId, lines: z.array(reservedLine).max(100), releasedAt: timestamp }) },
  },
});
