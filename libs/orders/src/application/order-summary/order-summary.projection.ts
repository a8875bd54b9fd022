import { Injectable } from '@nestjs/common';
import { eventOfTypes } from '@app/core';
import { ORDER_CATEGORY, type OrderEvent } from '@app/contracts';
import { HandlesEvents, type EventHandler } from '@app/event-sourcing';
import { DocumentProjectionHandler, ReadModelStore } from '@app/read-models';
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
export class OrderSummaryProjection extends DocumentProjectionHandler<OrderSummary> implements EventHandler {
  constructor(store: ReadModelStore) {
    super(store, ORDER_SUMMARIES, {
      documentId: (event) => eventOfTypes<OrderEvent>(event, ORDER_SUMMARY_EVENTS).data.orderId,
      evolve: (current, event) => evolveOrderSummary(current, eventOfTypes<OrderEvent>(event, ORDER_SUMMARY_EVENTS)),
    });
  }
}
