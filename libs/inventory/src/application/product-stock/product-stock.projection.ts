import { Injectable } from '@nestjs/common';
import type { RecordedEvent } from '@app/core';
import { PRODUCT_CATEGORY, type ProductEvent } from '@app/contracts';
import { HandlesEvents, type EventHandler } from '@app/event-sourcing';
import { applyToDocument, ReadModelStore, type DocumentCollection } from '@app/read-models';
import {
  evolveProductStock,
  PRODUCT_STOCKS,
  PRODUCT_STOCK_EVENTS,
  type ProductStock,
} from './product-stock.read-model.js';

@Injectable()
@HandlesEvents({
  name: 'inventory.product-stock',
  kind: 'projection',
  categories: [PRODUCT_CATEGORY],
  events: PRODUCT_STOCK_EVENTS,
})
export class ProductStockProjection implements EventHandler {
  readonly collection: DocumentCollection<ProductStock>;

  constructor(store: ReadModelStore) {
    this.collection = store.collection(PRODUCT_STOCKS);
  }

  reset(): Promise<void> {
    return this.collection.clear();
  }

  async handle(event: RecordedEvent): Promise<void> {
    const productEvent = event as unknown as ProductEvent;
    await applyToDocument(this.collection, productEvent.data.sku, event, (current) =>
      evolveProductStock(current, productEvent),
    );
  }
}
