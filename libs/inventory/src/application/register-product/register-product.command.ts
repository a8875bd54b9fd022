import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '@app/event-sourcing';

export class RegisterProductCommand extends Command<{ id: string; version: number }> {
  constructor(
    readonly sku: string,
    readonly name: string,
    readonly initialStock: number,
    readonly context: CommandContext,
  ) {
    super();
  }
}
