import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '@app/event-sourcing';

export class Open__Item__Command extends Command<{ id: string; version: number }> {
  constructor(
    readonly __itemCamel__Id: string,
    readonly title: string,
    readonly context: CommandContext,
  ) {
    super();
  }
}
