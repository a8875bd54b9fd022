import { Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { eventOfTypes, type RecordedEvent } from '@app/core';
import { RESERVATION_CATEGORY, type StockReservationRejected, type StockReserved } from '@app/contracts';
import { commandCausedBy, HandlesEvents, type EventHandler } from '@app/event-sourcing';
import { SettleOrderCommand } from './settle-order.command.js';

const NAME = 'orders.stock-answer-policy';
const EVENTS = ['StockReserved', 'StockReservationRejected'] as const;

/** Inventory answered for an order: settle it. Redeliveries settle nothing twice (the order ignores them). */
@Injectable()
@HandlesEvents({
  name: NAME,
  kind: 'policy',
  categories: [RESERVATION_CATEGORY],
  events: EVENTS,
})
export class StockAnswerPolicy implements EventHandler {
  constructor(private readonly commands: CommandBus) {}

  async handle(event: RecordedEvent): Promise<void> {
    const answer = eventOfTypes<StockReserved | StockReservationRejected>(event, EVENTS);
    const context = commandCausedBy(event, NAME);
    const outcome =
      answer.type === 'StockReserved'
        ? ({ reserved: true } as const)
        : ({ reserved: false, reason: answer.data.reason } as const);
    await this.commands.execute(new SettleOrderCommand(answer.data.orderId, outcome, context));
  }
}
