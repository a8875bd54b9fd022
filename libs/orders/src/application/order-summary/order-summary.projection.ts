import { Injectable } from '@nestjs/common';
import type { RecordedEvent } from '@app/core';
import { ORDER_CATEGORY, type OrderEvent } from '@app/contracts';
import { HandlesEvents, type EventHandler } from '@app/event-sourcing';
import { applyToDocument, ReadModelStore, type DocumentCollection } from '@app/read-models';
import {
  evolveOrderSummary,
  ORDER_SUMMARIES,
  ORDER_SUMMARY_EVENTS,
  type OrderSummary,
} from './order-summary.read-model.js';

@Injectable()
@HandlesEvents({
  name: 'orders.order-summary',
  kind: 'projection',
  categories: [ORDER_CATEGORY],
  events: ORDER_SUMMARY_EVENTS,
})
export class OrderSummaryProjection implements EventHandler {
  readonly collection: DocumentCollection<OrderSummary>;

  constructor(store: ReadModelStore) {
    this.collection = store.collection(ORDER_SUMMARIES);
  }

  reset(): Promise<void> {
    return this.collection.clear();
  }

  async handle(event: RecordedEvent): Promise<void> {
    const orderEvent = event as unknown as OrderEvent;
    await applyToDocument(this.collection, orderEvent.data.orderId, event, (current) =>
      evolveOrderSummary(current, orderEvent),
    );
  }
}
