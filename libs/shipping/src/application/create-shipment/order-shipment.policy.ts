import { Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { eventOfTypes, type RecordedEvent } from '@app/core';
import { ORDER_CATEGORY, type OrderCancelled, type OrderConfirmed, type OrderPlaced } from '@app/contracts';
import { commandCausedBy, HandlesEvents, type EventHandler } from '@app/event-sourcing';
import { CancelShipmentCommand } from '../cancel-shipment/cancel-shipment.command.js';
import { RecordOrderLinesCommand } from '../record-order-lines/record-order-lines.command.js';
import { CreateShipmentCommand } from './create-shipment.command.js';

const NAME = 'shipping.order-shipment-policy';
const EVENTS = ['OrderPlaced', 'OrderConfirmed', 'OrderCancelled'] as const;

type FollowedOrderEvent = OrderPlaced | OrderConfirmed | OrderCancelled;

/**
 * Follows the orders context's public events (and only those): keeps a placed order's lines, creates the
 * shipment of a confirmed one, cancels the shipment of a cancelled one. Per-stream order on the topic
 * means OrderPlaced arrives before OrderConfirmed; commands derive their ids from the event, so
 * redeliveries change nothing.
 */
@Injectable()
@HandlesEvents({
  name: NAME,
  kind: 'policy',
  categories: [ORDER_CATEGORY],
  events: EVENTS,
})
export class OrderShipmentPolicy implements EventHandler {
  constructor(private readonly commands: CommandBus) {}

  async handle(event: RecordedEvent): Promise<void> {
    const context = commandCausedBy(event, NAME);
    const order = eventOfTypes<FollowedOrderEvent>(event, EVENTS);
    switch (order.type) {
      case 'OrderPlaced': {
        const lines = order.data.lines.map(({ sku, quantity }) => ({ sku, quantity }));
        await this.commands.execute(new RecordOrderLinesCommand(order.data.orderId, lines, context));
        return;
      }
      case 'OrderConfirmed':
        await this.commands.execute(new CreateShipmentCommand(order.data.orderId, context));
        return;
      case 'OrderCancelled':
        await this.commands.execute(new CancelShipmentCommand(order.data.orderId, order.data.reason, context));
        return;
    }
  }
}
