import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '@app/event-sourcing';
import type { PlaceOrder } from '../../domain/order.js';

export class PlaceOrderCommand extends Command<{ id: string; version: number }> {
  constructor(
    readonly order: PlaceOrder,
    readonly context: CommandContext,
  ) {
    super();
  }
}
