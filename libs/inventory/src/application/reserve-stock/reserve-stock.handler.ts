import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { NotFound, type Clock } from '@app/core';
import { CLOCK, type CommandContext } from '@app/event-sourcing';
import { consolidateLines, type Shortage } from '../../domain/reservation.js';
import {
  PRODUCT_REPOSITORY,
  RESERVATION_REPOSITORY,
  type ProductRepository,
  type ReservationRepository,
} from '../../infrastructure/inventory.repositories.js';
import { ReserveStockCommand } from './reserve-stock.command.js';

/**
 * All lines or nothing, across several Product streams:
 * 1. an order whose reservation is decided is done (redelivery);
 * 2. hold each line on its product, in SKU order (each product holds at most one reservation per order,
 *    so re-running after a crash holds nothing twice);
 * 3. on the first shortage, give back what this order holds and record the rejection;
 * 4. otherwise record the reservation. Step 3/4 is the answer the orders context waits for.
 */
@CommandHandler(ReserveStockCommand)
export class ReserveStockHandler implements ICommandHandler<ReserveStockCommand> {
  constructor(
    @Inject(PRODUCT_REPOSITORY) private readonly products: ProductRepository,
    @Inject(RESERVATION_REPOSITORY) private readonly reservations: ReservationRepository,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ orderId, lines, context }: ReserveStockCommand): Promise<void> {
    if ((await this.reservations.find(orderId))?.decided) return;

    const wanted = consolidateLines(lines);
    const held: string[] = [];
    let shortage: Shortage | undefined;
    for (const line of wanted) {
      shortage = await this.hold(orderId, line.sku, line.quantity, context);
      if (shortage) break;
      held.push(line.sku);
    }

    const now = this.clock.now();
    if (shortage) {
      for (const sku of held) await this.products.update(sku, (p) => p.release(orderId, now), context);
      await this.reservations.upsert(orderId, (r) => r.reject(orderId, [shortage], now), context);
    } else {
      await this.reservations.upsert(orderId, (r) => r.accept(orderId, wanted, now), context);
    }
  }

  /** Holds the quantity on the product; returns the shortage if it cannot. */
  private async hold(
    orderId: string,
    sku: string,
    quantity: number,
    context: CommandContext,
  ): Promise<Shortage | undefined> {
    let available = 0;
    let reserved = false;
    try {
      await this.products.update(
        sku,
        (p) => {
          reserved = p.reserve(orderId, quantity, this.clock.now());
          available = p.available;
        },
        context,
      );
    } catch (error) {
      // An unknown SKU is a shortage of everything, not a failure: the order is rejected for it.
      if (error instanceof NotFound && error.code === 'PRODUCT_NOT_FOUND')
        return { sku, requested: quantity, available: 0 };
      throw error;
    }
    return reserved ? undefined : { sku, requested: quantity, available };
  }
}
