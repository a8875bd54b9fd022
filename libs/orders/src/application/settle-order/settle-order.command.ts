import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '@app/event-sourcing';

/** Inventory's answer for an order: confirms it (stock held) or rejects it (with the reason). */
export class SettleOrderCommand extends Command<{ id: string; version: number }> {
  constructor(
    readonly orderId: string,
    readonly outcome: { readonly reserved: true } | { readonly reserved: false; readonly reason: string },
    readonly context: CommandContext,
  ) {
    super();
  }
}
