import { Inject } from '@nestjs/common';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { readAtLeast, READ_MODELS_OPTIONS, type Page, type ReadModelsOptions } from '@app/read-models';
import { productNotFound } from '../../domain/inventory.errors.js';
import { ProductStockProjection } from './product-stock.projection.js';
import type { ProductStock } from './product-stock.read-model.js';

export class GetProductQuery extends Query<ProductStock> {
  constructor(
    readonly sku: string,
    readonly minVersion?: number,
  ) {
    super();
  }
}

export class ListProductsQuery extends Query<Page<ProductStock>> {
  constructor(
    readonly limit: number,
    readonly cursor?: string,
  ) {
    super();
  }
}

@QueryHandler(GetProductQuery)
export class GetProductHandler implements IQueryHandler<GetProductQuery> {
  constructor(
    private readonly projection: ProductStockProjection,
    @Inject(READ_MODELS_OPTIONS) private readonly options: ReadModelsOptions,
  ) {}

  async execute({ sku, minVersion }: GetProductQuery): Promise<ProductStock> {
    const stock = await readAtLeast(
      `Product ${sku}`,
      this.projection.collection,
      sku,
      minVersion,
      this.options.readYourWritesTimeoutMs,
    );
    if (!stock) throw productNotFound(sku);
    return stock;
  }
}

/** By SKU, cursor pagination. */
@QueryHandler(ListProductsQuery)
export class ListProductsHandler implements IQueryHandler<ListProductsQuery> {
  constructor(private readonly projection: ProductStockProjection) {}

  execute({ limit, cursor }: ListProductsQuery): Promise<Page<ProductStock>> {
    return this.projection.collection.list({ limit, cursor });
  }
}
