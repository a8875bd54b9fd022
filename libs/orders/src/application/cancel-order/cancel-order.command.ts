import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '@app/event-sourcing';

export class CancelOrderCommand extends Command<{ id: string; version: number }> {
  constructor(
    readonly orderId: string,
    readonly reason: string | undefined,
    readonly context: CommandContext,
    /** Set for a customer's request: an order of anyone else is answered as not found (ids do not leak). */
    readonly onlyOfCustomer?: string,
  ) {
    super();
  }
}
