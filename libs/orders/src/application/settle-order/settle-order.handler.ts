import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { Clock } from '@app/core';
import { CLOCK } from '@app/event-sourcing';
import { ORDER_REPOSITORY, type OrderRepository } from '../../infrastructure/orders.repositories.js';
import { SettleOrderCommand } from './settle-order.command.js';

@CommandHandler(SettleOrderCommand)
export class SettleOrderHandler implements ICommandHandler<SettleOrderCommand> {
  constructor(
    @Inject(ORDER_REPOSITORY) private readonly orders: OrderRepository,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  execute({ orderId, outcome, context }: SettleOrderCommand) {
    return this.orders.update(
      orderId,
      (order) => (outcome.reserved ? order.confirm(this.clock.now()) : order.reject(outcome.reason, this.clock.now())),
      context,
    );
  }
}
