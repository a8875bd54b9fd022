import { Injectable } from '@nestjs/common';
import { eventOfTypes, type RecordedEvent } from '@app/core';
import { PRODUCT_CATEGORY, type ProductEvent } from '@app/contracts';
import { HandlesEvents, type EventHandler } from '@app/event-sourcing';
import { DocumentProjector, ReadModelStore, type DocumentCollection } from '@app/read-models';
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
  readonly #projector: DocumentProjector<ProductStock>;

  constructor(store: ReadModelStore) {
    this.collection = store.collection(PRODUCT_STOCKS);
    this.#projector = new DocumentProjector(this.collection, {
      documentId: (event) => eventOfTypes<ProductEvent>(event, PRODUCT_STOCK_EVENTS).data.sku,
      evolve: (current, event) => evolveProductStock(current, eventOfTypes<ProductEvent>(event, PRODUCT_STOCK_EVENTS)),
    });
  }

  async reset(): Promise<void> {
    this.#projector.forget();
    await this.collection.clear();
  }

  async handle(event: RecordedEvent): Promise<void> {
    await this.#projector.apply(event);
  }

  /** A consumed batch: one bulk write. */
  async handleBatch(events: readonly RecordedEvent[]): Promise<void> {
    await this.#projector.applyAll(events);
  }
}
