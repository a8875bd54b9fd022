import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '@app/event-sourcing';

/** Give back the stock held for a cancelled order. Idempotent; nothing to do if nothing is held. */
export class ReleaseStockCommand extends Command<void> {
  constructor(
    readonly orderId: string,
    readonly context: CommandContext,
  ) {
    super();
  }
}
