import type { ProductEvent } from '@app/contracts';
import type { CollectionDefinition } from '@app/read-models';

/** What `GET /products/{sku}` returns: stock levels of one product, built only from its events. */
export interface ProductStock {
  /** The SKU. */
  readonly id: string;
  readonly sku: string;
  readonly name: string;
  /** Units that can still be reserved. */
  readonly available: number;
  /** Units held for orders. */
  readonly reserved: number;
  readonly updatedAt: string;
  readonly version: number;
}

export const PRODUCT_STOCKS: CollectionDefinition<ProductStock> = {
  name: 'product_stocks',
  sort: { field: 'sku', direction: 'asc' },
  filterFields: [],
};

export const PRODUCT_STOCK_EVENTS = [
  'ProductRegistered',
  'ProductRestocked',
  'ProductStockReserved',
  'ProductStockReleased',
] as const;

export const evolveProductStock = (
  current: ProductStock | undefined,
  event: ProductEvent,
): Omit<ProductStock, 'version'> => {
  if (event.type === 'ProductRegistered') {
    const { sku, name, initialStock, registeredAt } = event.data;
    return { id: sku, sku, name, available: initialStock, reserved: 0, updatedAt: registeredAt };
  }
  if (!current) throw new Error(`${event.type} for product ${event.data.sku} before ProductRegistered`);
  switch (event.type) {
    case 'ProductRestocked':
      return { ...current, available: current.available + event.data.quantity, updatedAt: event.data.restockedAt };
    case 'ProductStockReserved':
      return {
        ...current,
        available: current.available - event.data.quantity,
        reserved: current.reserved + event.data.quantity,
        updatedAt: event.data.reservedAt,
      };
    case 'ProductStockReleased':
      return {
        ...current,
        available: current.available + event.data.quantity,
        reserved: current.reserved - event.data.quantity,
        updatedAt: event.data.releasedAt,
      };
  }
};
