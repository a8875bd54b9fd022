import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '@app/event-sourcing';

export class DeliverShipmentCommand extends Command<{ id: string; version: number }> {
  constructor(
    readonly shipmentId: string,
    readonly context: CommandContext,
  ) {
    super();
  }
}
