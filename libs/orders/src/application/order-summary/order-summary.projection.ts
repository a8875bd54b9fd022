import { Injectable } from '@nestjs/common';
import { eventOfTypes, type RecordedEvent } from '@app/core';
import { ORDER_CATEGORY, type OrderEvent } from '@app/contracts';
import { HandlesEvents, type EventHandler } from '@app/event-sourcing';
import { DocumentProjector, ReadModelStore, type DocumentCollection } from '@app/read-models';
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
  readonly #projector: DocumentProjector<OrderSummary>;

  constructor(store: ReadModelStore) {
    this.collection = store.collection(ORDER_SUMMARIES);
    this.#projector = new DocumentProjector(this.collection, {
      documentId: (event) => eventOfTypes<OrderEvent>(event, ORDER_SUMMARY_EVENTS).data.orderId,
      evolve: (current, event) => evolveOrderSummary(current, eventOfTypes<OrderEvent>(event, ORDER_SUMMARY_EVENTS)),
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
