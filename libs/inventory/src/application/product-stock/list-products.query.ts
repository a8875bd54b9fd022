import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { Page } from '@app/read-models';
import { ProductStockProjection } from './product-stock.projection.js';
import type { ProductStock } from './product-stock.read-model.js';

export class ListProductsQuery extends Query<Page<ProductStock>> {
  constructor(
    readonly limit: number,
    readonly cursor?: string,
  ) {
    super();
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
