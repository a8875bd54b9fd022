import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { Clock } from '@app/core';
import { CLOCK } from '@app/event-sourcing';
import { Order } from '../../domain/order.js';
import { ORDER_REPOSITORY, type OrderRepository } from '../../infrastructure/orders.repositories.js';
import { PlaceOrderCommand } from './place-order.command.js';

@CommandHandler(PlaceOrderCommand)
export class PlaceOrderHandler implements ICommandHandler<PlaceOrderCommand> {
  constructor(
    @Inject(ORDER_REPOSITORY) private readonly orders: OrderRepository,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  execute({ order, context }: PlaceOrderCommand) {
    return this.orders.create(
      order.orderId,
      () => {
        const placed = new Order();
        placed.place(order, this.clock.now());
        return placed;
      },
      context,
    );
  }
}
