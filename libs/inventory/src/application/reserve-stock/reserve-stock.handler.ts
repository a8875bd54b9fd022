import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { NotFound, type Clock } from '@app/core';
import type { ReservedLine } from '@app/contracts';
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
 * All lines or nothing, across several Product streams, even when two copies run at once for one order
 * (a redelivery, a consumer that lost its partition): the Reservation stream is the lock.
 * 1. An order not decided yet: hold each line on its product, in SKU order, up to the first shortage (a
 *    product holds at most one reservation per order: holding again changes nothing). Nothing is given
 *    back yet: another copy may be about to decide on these very holds.
 * 2. Decide once: RESERVED if every line is held, else REJECTED. The append expects the version this copy
 *    read, so of two copies one decides; the other's retry reads that decision and appends nothing.
 * 3. The stock follows the decision, whoever took it: an order that is not RESERVED holds nothing, so every
 *    line is given back (no-op where nothing is held). A copy stopped after step 2 leaves this to the
 *    redelivery, which finds the order decided and does step 3 alone.
 */
@CommandHandler(ReserveStockCommand)
export class ReserveStockHandler implements ICommandHandler<ReserveStockCommand> {
  constructor(
    @Inject(PRODUCT_REPOSITORY) private readonly products: ProductRepository,
    @Inject(RESERVATION_REPOSITORY) private readonly reservations: ReservationRepository,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ orderId, lines, context }: ReserveStockCommand): Promise<void> {
    const wanted = consolidateLines(lines);
    const reservation = await this.reservations.find(orderId);
    const holdsStock = reservation?.decided
      ? reservation.holdsStock
      : await this.decide(orderId, wanted, await this.holdAll(orderId, wanted, context), context);
    if (!holdsStock) for (const { sku } of wanted) await this.giveBack(orderId, sku, context);
  }

  /** Holds the lines in order; returns the first shortage, if any (the lines after it are not tried). */
  private async holdAll(
    orderId: string,
    wanted: readonly ReservedLine[],
    context: CommandContext,
  ): Promise<Shortage | undefined> {
    for (const { sku, quantity } of wanted) {
      const shortage = await this.hold(orderId, sku, quantity, context);
      if (shortage) return shortage;
    }
    return undefined;
  }

  /** Records the decision unless another copy did; returns whether the one that stands holds stock. */
  private async decide(
    orderId: string,
    wanted: readonly ReservedLine[],
    shortage: Shortage | undefined,
    context: CommandContext,
  ): Promise<boolean> {
    let holdsStock = false;
    const now = this.clock.now();
    await this.reservations.upsert(
      orderId,
      (reservation) => {
        reservation.decide(orderId, wanted, shortage, now);
        holdsStock = reservation.holdsStock;
      },
      context,
    );
    return holdsStock;
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
      if (isUnknownProduct(error)) return { sku, requested: quantity, available: 0 };
      throw error;
    }
    return reserved ? undefined : { sku, requested: quantity, available };
  }

  private async giveBack(orderId: string, sku: string, context: CommandContext): Promise<void> {
    try {
      await this.products.update(sku, (p) => p.release(orderId, this.clock.now()), context);
    } catch (error) {
      if (!isUnknownProduct(error)) throw error; // an unknown SKU holds nothing
    }
  }
}

const isUnknownProduct = (error: unknown): boolean => error instanceof NotFound && error.code === 'PRODUCT_NOT_FOUND';
