import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { Clock } from '@app/core';
import { CLOCK } from '@app/event-sourcing';
import { SHIPPING_ORDER_REPOSITORY, type ShippingOrderRepository } from '../../infrastructure/shipping.repositories.js';
import { RecordOrderLinesCommand } from './record-order-lines.command.js';

@CommandHandler(RecordOrderLinesCommand)
export class RecordOrderLinesHandler implements ICommandHandler<RecordOrderLinesCommand> {
  constructor(
    @Inject(SHIPPING_ORDER_REPOSITORY) private readonly orders: ShippingOrderRepository,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  execute({ orderId, lines, context }: RecordOrderLinesCommand) {
    // OrderPlaced names the order first: its stream is new but on a redelivery.
    return this.orders.upsert(orderId, (order) => order.record(orderId, lines, this.clock.now()), context, {
      assumeNew: true,
    });
  }
}
