import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '@app/event-sourcing';

/** An order was cancelled: cancel its shipment if it has one that was not dispatched yet. */
export class CancelShipmentCommand extends Command<{ id: string; version: number }> {
  constructor(
    readonly orderId: string,
    readonly reason: string | null,
    readonly context: CommandContext,
  ) {
    super();
  }
}
