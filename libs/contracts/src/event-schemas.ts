import { z } from 'zod';
import { SKU_PATTERN } from './identifiers.js';
import type { ProductEvent, ReservationEvent } from './inventory.events.js';
import type { OrderEvent } from './orders.events.js';

// The published contract of every event type and schema version: one zod schema each, used by every
// consumer to validate the data it receives before any handler runs, and exported as JSON Schema
// (`eventContractsAsJsonSchema`) for documentation. The TypeScript types of the event files must agree
// with them (checked at compile time at the end of this file).

const id = z.string().min(1).max(128);
const orderId = z.uuid();
const sku = z.string().regex(SKU_PATTERN);
const timestamp = z.iso.datetime({ offset: true });
const quantity = z.number().int().positive().max(1_000_000_000);
const amount = z.number().nonnegative().finite();
const reservedLine = z.object({ sku, quantity });

const ORDER_SCHEMAS = {
  OrderPlaced: {
    1: z.object({
      orderId,
      customerId: id,
      currency: z.string().regex(/^[A-Z]{3}$/),
      lines: z
        .array(z.object({ sku, quantity, unitPrice: amount }))
        .min(1)
        .max(100),
      total: amount,
      placedAt: timestamp,
    }),
  },
  OrderConfirmed: { 1: z.object({ orderId, confirmedAt: timestamp }) },
  OrderRejected: { 1: z.object({ orderId, reason: z.string().max(2_000), rejectedAt: timestamp }) },
  OrderCancelled: { 1: z.object({ orderId, reason: z.string().max(2_000).nullable(), cancelledAt: timestamp }) },
} as const;

const PRODUCT_SCHEMAS = {
  ProductRegistered: {
    1: z.object({
      sku,
      name: z.string().min(1).max(200),
      initialStock: z.number().int().nonnegative(),
      registeredAt: timestamp,
    }),
  },
  ProductRestocked: { 1: z.object({ sku, quantity, restockedAt: timestamp }) },
  ProductStockReserved: { 1: z.object({ sku, orderId, quantity, reservedAt: timestamp }) },
  ProductStockReleased: { 1: z.object({ sku, orderId, quantity, releasedAt: timestamp }) },
} as const;

const RESERVATION_SCHEMAS = {
  StockReserved: { 1: z.object({ orderId, lines: z.array(reservedLine).min(1).max(100), reservedAt: timestamp }) },
  StockReservationRejected: {
    1: z.object({
      orderId,
      reason: z.string().max(2_000),
      shortages: z.array(z.object({ sku, requested: quantity, available: z.number().int().nonnegative() })).max(100),
      rejectedAt: timestamp,
    }),
  },
  ReservationReleased: { 1: z.object({ orderId, lines: z.array(reservedLine).max(100), releasedAt: timestamp }) },
} as const;

type EventContracts = Readonly<Record<string, Readonly<Record<number, z.ZodType>>>>;

/** Every published event type, per schema version (each context's events file adds its own). */
export const EVENT_CONTRACTS: Record<string, Readonly<Record<number, z.ZodType>>> = {
  ...ORDER_SCHEMAS,
  ...PRODUCT_SCHEMAS,
  ...RESERVATION_SCHEMAS,
};

/**
 * Publishes the contracts of a context's events, next to the events (`<context>.events.ts`), so that a new
 * context needs no edit here. A type defined twice is a mistake and fails at start-up.
 */
export const defineEventContracts = <C extends EventContracts>(contracts: C): C => {
  for (const [type, versions] of Object.entries(contracts)) {
    if (EVENT_CONTRACTS[type]) throw new Error(`The contract of event type ${type} is defined twice`);
    EVENT_CONTRACTS[type] = versions;
  }
  return contracts;
};

/** The data of an event broke its published contract (or there is none for its type and version). */
export class ContractViolationError extends Error {
  override readonly name = 'ContractViolationError';
}

/** Checks an event's data against the contract of its type and schema version; throws what is wrong. */
export const assertEventContract = (event: { type: string; schemaVersion: number; data: unknown }): void => {
  const schema = EVENT_CONTRACTS[event.type]?.[event.schemaVersion];
  if (!schema) throw new ContractViolationError(`No published contract for ${event.type} v${event.schemaVersion}`);
  const result = schema.safeParse(event.data);
  if (result.success) return;
  const issues = result.error.issues
    .slice(0, 10)
    .map((issue) => `${issue.path.join('.') || '(data)'}: ${issue.message}`)
    .join('; ');
  throw new ContractViolationError(`${event.type} v${event.schemaVersion} breaks its contract: ${issues}`);
};

/** The contracts as JSON Schema (draft 2020-12), `{ "<type>": { "<version>": schema } }`, for documentation. */
export const eventContractsAsJsonSchema = (): Record<string, Record<string, unknown>> =>
  Object.fromEntries(
    Object.entries(EVENT_CONTRACTS).map(([type, versions]) => [
      type,
      Object.fromEntries(Object.entries(versions).map(([version, schema]) => [version, z.toJSONSchema(schema)])),
    ]),
  );

// Compile-time: each schema describes exactly the data type its event file declares.
type DeepMutable<T> = T extends readonly (infer U)[]
  ? DeepMutable<U>[]
  : T extends object
    ? { -readonly [K in keyof T]: DeepMutable<T[K]> }
    : T;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Agree<E extends { type: string; data: object }, S extends Record<string, Record<number, z.ZodType>>> = {
  [T in E['type']]: Same<z.infer<S[T][1]>, DeepMutable<Extract<E, { type: T }>['data']>>;
};
const agree = <T extends Record<string, true>>(_: T): void => undefined;
agree<Agree<OrderEvent, typeof ORDER_SCHEMAS>>({
  OrderPlaced: true,
  OrderConfirmed: true,
  OrderRejected: true,
  OrderCancelled: true,
});
agree<Agree<ProductEvent, typeof PRODUCT_SCHEMAS>>({
  ProductRegistered: true,
  ProductRestocked: true,
  ProductStockReserved: true,
  ProductStockReleased: true,
});
agree<Agree<ReservationEvent, typeof RESERVATION_SCHEMAS>>({
  StockReserved: true,
  StockReservationRejected: true,
  ReservationReleased: true,
});
