import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { Page } from '@app/read-models';
import type { OrderStatus } from '../../domain/order.js';
import { OrderSummaryProjection } from './order-summary.projection.js';
import type { OrderSummary } from './order-summary.read-model.js';

export class ListOrdersQuery extends Query<Page<OrderSummary>> {
  constructor(
    readonly filter: { readonly status?: OrderStatus; readonly customerId?: string },
    readonly limit: number,
    readonly cursor?: string,
  ) {
    super();
  }
}

/** Newest first; filter by status and/or customer; cursor pagination. */
@QueryHandler(ListOrdersQuery)
export class ListOrdersHandler implements IQueryHandler<ListOrdersQuery> {
  constructor(private readonly projection: OrderSummaryProjection) {}

  execute({ filter, limit, cursor }: ListOrdersQuery): Promise<Page<OrderSummary>> {
    return this.projection.collection.list({ where: filter, limit, cursor });
  }
}
