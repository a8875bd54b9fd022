import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { Clock } from '@app/core';
import { CLOCK } from '@app/event-sourcing';
import {
  PRODUCT_REPOSITORY,
  RESERVATION_REPOSITORY,
  type ProductRepository,
  type ReservationRepository,
} from '../../infrastructure/inventory.repositories.js';
import { ReleaseStockCommand } from './release-stock.command.js';

@CommandHandler(ReleaseStockCommand)
export class ReleaseStockHandler implements ICommandHandler<ReleaseStockCommand> {
  constructor(
    @Inject(PRODUCT_REPOSITORY) private readonly products: ProductRepository,
    @Inject(RESERVATION_REPOSITORY) private readonly reservations: ReservationRepository,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ orderId, context }: ReleaseStockCommand): Promise<void> {
    const reservation = await this.reservations.find(orderId);
    if (reservation?.status !== 'RESERVED') return; // rejected orders hold nothing; released ones are done
    const now = this.clock.now();
    // Products first, then the reservation: a crash in between re-runs the releases, which are no-ops.
    for (const { sku } of reservation.lines) await this.products.update(sku, (p) => p.release(orderId, now), context);
    await this.reservations.update(orderId, (r) => r.release(now), context);
  }
}
