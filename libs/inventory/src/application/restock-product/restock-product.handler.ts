import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { Clock } from '@app/core';
import { CLOCK } from '@app/event-sourcing';
import { PRODUCT_REPOSITORY, type ProductRepository } from '../../infrastructure/inventory.repositories.js';
import { RestockProductCommand } from './restock-product.command.js';

@CommandHandler(RestockProductCommand)
export class RestockProductHandler implements ICommandHandler<RestockProductCommand> {
  constructor(
    @Inject(PRODUCT_REPOSITORY) private readonly products: ProductRepository,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  execute({ sku, quantity, context }: RestockProductCommand) {
    return this.products.update(sku, (product) => product.restock(quantity, this.clock.now()), context);
  }
}
