import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '@app/event-sourcing';

/** An order was confirmed: create its one shipment from the lines recorded when it was placed. */
export class CreateShipmentCommand extends Command<{ id: string; version: number }> {
  constructor(
    readonly orderId: string,
    readonly context: CommandContext,
  ) {
    super();
  }
}
