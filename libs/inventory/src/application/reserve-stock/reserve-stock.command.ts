import { Command } from '@nestjs/cqrs';
import type { ReservedLine } from '@app/contracts';
import type { CommandContext } from '@app/event-sourcing';

/** Reserve every line of an order, or none. Idempotent per order. */
export class ReserveStockCommand extends Command<void> {
  constructor(
    readonly orderId: string,
    readonly lines: readonly ReservedLine[],
    readonly context: CommandContext,
  ) {
    super();
  }
}
