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

  /**
   * The reservation first, then the products, as ReserveStock does (the reservation stream is the lock): once
   * it is RELEASED, a late copy of ReserveStock for the order gives back whatever it holds, and a crash
   * between the two steps leaves the product releases to the redelivery (no-ops where done).
   */
  async execute({ orderId, context }: ReleaseStockCommand): Promise<void> {
    const reservation = await this.reservations.find(orderId);
    if (reservation?.status !== 'RESERVED' && reservation?.status !== 'RELEASED') return; // rejected: holds nothing
    const now = this.clock.now();
    if (reservation.holdsStock) await this.reservations.update(orderId, (r) => r.release(now), context);
    for (const { sku } of reservation.lines) await this.products.update(sku, (p) => p.release(orderId, now), context);
  }
}
