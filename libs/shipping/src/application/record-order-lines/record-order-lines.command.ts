import { Command } from '@nestjs/cqrs';
import type { ShipmentLine } from '@app/contracts';
import type { CommandContext } from '@app/event-sourcing';

/** An order was placed: keep its lines, in case it is confirmed. */
export class RecordOrderLinesCommand extends Command<{ id: string; version: number }> {
  constructor(
    readonly orderId: string,
    readonly lines: readonly ShipmentLine[],
    readonly context: CommandContext,
  ) {
    super();
  }
}
