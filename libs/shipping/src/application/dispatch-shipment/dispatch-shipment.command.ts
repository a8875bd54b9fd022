import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '@app/event-sourcing';
import type { Dispatch } from '../../domain/shipment.js';

export class DispatchShipmentCommand extends Command<{ id: string; version: number }> {
  constructor(
    readonly shipmentId: string,
    readonly dispatch: Dispatch,
    readonly context: CommandContext,
  ) {
    super();
  }
}
