import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { Clock } from '@app/core';
import { CLOCK } from '@app/event-sourcing';
import { ORDER_REPOSITORY, type OrderRepository } from '../../infrastructure/orders.repositories.js';
import { orderNotFound } from '../../domain/order.errors.js';
import { CancelOrderCommand } from './cancel-order.command.js';

@CommandHandler(CancelOrderCommand)
export class CancelOrderHandler implements ICommandHandler<CancelOrderCommand> {
  constructor(
    @Inject(ORDER_REPOSITORY) private readonly orders: OrderRepository,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  execute({ orderId, reason, context, onlyOfCustomer }: CancelOrderCommand) {
    return this.orders.update(
      orderId,
      (order) => {
        if (onlyOfCustomer !== undefined && order.customerId !== onlyOfCustomer) throw orderNotFound(orderId);
        order.cancel(reason, this.clock.now());
      },
      context,
    );
  }
}
