import { Inject } from '@nestjs/common';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { readAtLeast, READ_MODELS_OPTIONS, type ReadModelsOptions } from '@app/read-models';
import { orderNotFound } from '../../domain/order.errors.js';
import { OrderSummaryProjection } from './order-summary.projection.js';
import type { OrderSummary } from './order-summary.read-model.js';

export class GetOrderQuery extends Query<OrderSummary> {
  constructor(
    readonly orderId: string,
    /** Wait until the summary reflects at least this version (read-your-writes). */
    readonly minVersion?: number,
  ) {
    super();
  }
}

@QueryHandler(GetOrderQuery)
export class GetOrderHandler implements IQueryHandler<GetOrderQuery> {
  constructor(
    private readonly projection: OrderSummaryProjection,
    @Inject(READ_MODELS_OPTIONS) private readonly options: ReadModelsOptions,
  ) {}

  async execute({ orderId, minVersion }: GetOrderQuery): Promise<OrderSummary> {
    const summary = await readAtLeast(
      `Order ${orderId}`,
      this.projection.collection,
      orderId,
      minVersion,
      this.options.readYourWritesTimeoutMs,
    );
    if (!summary) throw orderNotFound(orderId);
    return summary;
  }
}
