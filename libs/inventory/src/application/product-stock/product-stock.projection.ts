import { Injectable } from '@nestjs/common';
import { eventOfTypes } from '@app/core';
import { PRODUCT_CATEGORY, type ProductEvent } from '@app/contracts';
import { HandlesEvents, type EventHandler } from '@app/event-sourcing';
import { DocumentProjectionHandler, ReadModelStore } from '@app/read-models';
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
export class ProductStockProjection extends DocumentProjectionHandler<ProductStock> implements EventHandler {
  constructor(store: ReadModelStore) {
    super(store, PRODUCT_STOCKS, {
      documentId: (event) => eventOfTypes<ProductEvent>(event, PRODUCT_STOCK_EVENTS).data.sku,
      evolve: (current, event) => evolveProductStock(current, eventOfTypes<ProductEvent>(event, PRODUCT_STOCK_EVENTS)),
    });
  }
}
