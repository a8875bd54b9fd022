import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { Clock } from '@app/core';
import { CLOCK, ConcurrencyError } from '@app/event-sourcing';
import { productAlreadyRegistered } from '../../domain/inventory.errors.js';
import { Product } from '../../domain/product.js';
import { PRODUCT_REPOSITORY, type ProductRepository } from '../../infrastructure/inventory.repositories.js';
import { RegisterProductCommand } from './register-product.command.js';

@CommandHandler(RegisterProductCommand)
export class RegisterProductHandler implements ICommandHandler<RegisterProductCommand> {
  constructor(
    @Inject(PRODUCT_REPOSITORY) private readonly products: ProductRepository,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ sku, name, initialStock, context }: RegisterProductCommand) {
    try {
      return await this.products.create(
        sku,
        () => {
          const product = new Product();
          product.register(sku, name, initialStock, this.clock.now());
          return product;
        },
        context,
      );
    } catch (error) {
      // The stream exists: the SKU is taken, which is a business answer, not a race to retry.
      if (error instanceof ConcurrencyError) throw productAlreadyRegistered(sku);
      throw error;
    }
  }
}
