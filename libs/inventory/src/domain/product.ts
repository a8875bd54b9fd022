import { AggregateRoot } from '@app/core';
import type { ProductEvent } from '@app/contracts';
import { HeldReservations } from './held-reservations.js';
import { invalidStockChange, productAlreadyRegistered } from './inventory.errors.js';

/** Largest stock a product may hold; keeps every sum a safe integer. */
export const MAX_STOCK = 1_000_000_000;

/** A product's state as its stream's snapshot keeps it (docs/snapshots.md); bump the version on any change. */
export interface ProductSnapshot {
  readonly sku: string;
  readonly available: number;
  /** What the held reservations sum to. */
  readonly reserved: number;
  /** Held reservations, `<orderId>\t<quantity>\n` lines (held-reservations.ts): one JSON string to parse. */
  readonly held: string;
}
/** 2: reservations packed in one string (1: an array of `[orderId, quantity]`, 2x the parse time). */
export const PRODUCT_SNAPSHOT_SCHEMA_VERSION = 2;

/**
 * Stock of one product. `available` is what can still be reserved; each order holds at most one
 * reservation per product, which makes reserve and release idempotent per order.
 */
export class Product extends AggregateRoot<ProductEvent> {
  #sku = '';
  #available = 0;
  #reservations = new HeldReservations();

  get sku(): string {
    return this.#sku;
  }

  get available(): number {
    return this.#available;
  }

  get reserved(): number {
    return this.#reservations.total;
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
    if (this.#reservations.get(orderId) !== undefined) return true;
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
    const reservations = this.#reservations;
    return { sku: this.#sku, available: this.#available, reserved: reservations.total, held: reservations.pack() };
  }

  /** The product in a snapshot's state (version 0: the repository sets it); throws on a malformed one. */
  static fromSnapshot(state: unknown): Product {
    const { sku, available, reserved, held } = (state ?? {}) as Partial<ProductSnapshot>;
    if (typeof sku !== 'string' || !Number.isSafeInteger(available)) throw new Error('Not a product snapshot');
    const product = new Product();
    product.#sku = sku;
    product.#available = available!;
    try {
      product.#reservations = HeldReservations.unpack(held, reserved);
    } catch {
      throw new Error('Not a product snapshot');
    }
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
