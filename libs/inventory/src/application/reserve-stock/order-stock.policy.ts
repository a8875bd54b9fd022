import { Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { eventOfTypes, type RecordedEvent } from '@app/core';
import { ORDER_CATEGORY, type OrderCancelled, type OrderPlaced } from '@app/contracts';
import { commandCausedBy, HandlesEvents, type EventHandler } from '@app/event-sourcing';
import { ReleaseStockCommand } from '../release-stock/release-stock.command.js';
import { ReserveStockCommand } from './reserve-stock.command.js';

const NAME = 'inventory.order-stock-policy';
const EVENTS = ['OrderPlaced', 'OrderCancelled'] as const;

/** Reacts to the orders context's public events: reserve stock for placed orders, release it for cancelled ones. */
@Injectable()
@HandlesEvents({
  name: NAME,
  kind: 'policy',
  categories: [ORDER_CATEGORY],
  events: EVENTS,
})
export class OrderStockPolicy implements EventHandler {
  constructor(private readonly commands: CommandBus) {}

  async handle(event: RecordedEvent): Promise<void> {
    const orderEvent = eventOfTypes<OrderPlaced | OrderCancelled>(event, EVENTS);
    const context = commandCausedBy(event, NAME);
    if (orderEvent.type === 'OrderPlaced') {
      const lines = orderEvent.data.lines.map(({ sku, quantity }) => ({ sku, quantity }));
      await this.commands.execute(new ReserveStockCommand(orderEvent.data.orderId, lines, context));
    } else {
      await this.commands.execute(new ReleaseStockCommand(orderEvent.data.orderId, context));
    }
  }
}
