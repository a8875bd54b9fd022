import { AggregateRoot } from '@app/core';
import type { ProductEvent } from '@app/contracts';
import { invalidStockChange, productAlreadyRegistered } from './inventory.errors.js';

/** Largest stock a product may hold; keeps every sum a safe integer. */
export const MAX_STOCK = 1_000_000_000;

/** A product's state as its stream's snapshot keeps it (docs/snapshots.md); bump the version on any change. */
export interface ProductSnapshot {
  readonly sku: string;
  readonly available: number;
  /** Held reservations, `[orderId, quantity]`. */
  readonly reservations: readonly (readonly [string, number])[];
}
export const PRODUCT_SNAPSHOT_SCHEMA_VERSION = 1;

/**
 * Stock of one product. `available` is what can still be reserved; each order holds at most one
 * reservation per product, which makes reserve and release idempotent per order.
 */
export class Product extends AggregateRoot<ProductEvent> {
  #sku = '';
  #available = 0;
  readonly #reservations = new Map<string, number>();

  get sku(): string {
    return this.#sku;
  }

  get available(): number {
    return this.#available;
  }

  get reserved(): number {
    let sum = 0;
    for (const quantity of this.#reservations.values()) sum += quantity;
    return sum;
  }

  reservedFor(orderId: string): number {
    return this.#reservations.get(orderId) ?? 0;
  }

  register(sku: string, name: string, initialStock: number, now: Date): void {
    if (this.exists) throw productAlreadyRegistered(this.#sku);
    assertQuantity(initialStock, 0);
    this.raise({
      type: 'ProductRegistered',
      data: { sku, name, initialStock, registeredAt: now.toISOString() },
    });
  }

  restock(quantity: number, now: Date): void {
    assertQuantity(quantity, 1);
    if (this.#available + this.reserved + quantity > MAX_STOCK) {
      throw invalidStockChange(`Stock of ${this.#sku} would exceed ${MAX_STOCK}`, { sku: this.#sku, quantity });
    }
    this.raise({ type: 'ProductRestocked', data: { sku: this.#sku, quantity, restockedAt: now.toISOString() } });
  }

  /** Holds `quantity` for the order; a second call for the same order changes nothing. */
  reserve(orderId: string, quantity: number, now: Date): boolean {
    assertQuantity(quantity, 1);
    if (this.#reservations.has(orderId)) return true;
    if (this.#available < quantity) return false;
    this.raise({
      type: 'ProductStockReserved',
      data: { sku: this.#sku, orderId, quantity, reservedAt: now.toISOString() },
    });
    return true;
  }

  /** Gives back what the order holds; nothing if it holds nothing (never reserved, or released). */
  release(orderId: string, now: Date): void {
    const quantity = this.#reservations.get(orderId);
    if (quantity === undefined) return;
    this.raise({
      type: 'ProductStockReleased',
      data: { sku: this.#sku, orderId, quantity, releasedAt: now.toISOString() },
    });
  }

  toSnapshot(): ProductSnapshot {
    return { sku: this.#sku, available: this.#available, reservations: [...this.#reservations] };
  }

  /** The product in a snapshot's state (version 0: the repository sets it); throws on a malformed one. */
  static fromSnapshot(state: unknown): Product {
    const { sku, available, reservations } = (state ?? {}) as Partial<ProductSnapshot>;
    const valid =
      typeof sku === 'string' &&
      Number.isSafeInteger(available) &&
      Array.isArray(reservations) &&
      reservations.every((r) => Array.isArray(r) && typeof r[0] === 'string' && Number.isSafeInteger(r[1]));
    if (!valid) throw new Error('Not a product snapshot');
    const product = new Product();
    product.#sku = sku;
    product.#available = available!;
    for (const [orderId, quantity] of reservations) product.#reservations.set(orderId, quantity);
    return product;
  }

  protected override evolve(event: ProductEvent): void {
    switch (event.type) {
      case 'ProductRegistered':
        this.#sku = event.data.sku;
        this.#available = event.data.initialStock;
        return;
      case 'ProductRestocked':
        this.#available += event.data.quantity;
        return;
      case 'ProductStockReserved':
        this.#available -= event.data.quantity;
        this.#reservations.set(event.data.orderId, event.data.quantity);
        return;
      case 'ProductStockReleased':
        this.#available += event.data.quantity;
        this.#reservations.delete(event.data.orderId);
        return;
    }
  }
}

const assertQuantity = (quantity: number, min: number): void => {
  if (!Number.isSafeInteger(quantity) || quantity < min || quantity > MAX_STOCK) {
    throw invalidStockChange(`Quantity must be an integer from ${min} to ${MAX_STOCK}`, { quantity });
  }
};
