import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '@app/event-sourcing';

export class RestockProductCommand extends Command<{ id: string; version: number }> {
  constructor(
    readonly sku: string,
    readonly quantity: number,
    readonly context: CommandContext,
  ) {
    super();
  }
}
