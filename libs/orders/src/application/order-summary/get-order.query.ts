import { Inject } from '@nestjs/common';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { EventStore } from '@app/event-sourcing';
import { orderStream } from '@app/contracts';
import { readAtLeast, READ_MODELS_OPTIONS, type ReadModelsOptions } from '@app/read-models';
import { orderNotFound } from '../../domain/order.errors.js';
import { OrderSummaryProjection } from './order-summary.projection.js';
import type { OrderSummary } from './order-summary.read-model.js';

export class GetOrderQuery extends Query<OrderSummary> {
  constructor(
    readonly orderId: string,
    /** Wait until the summary reflects at least this version (read-your-writes). */
    readonly minVersion?: number,
    /** The customer the caller is (a customer's token); another customer's order is answered as unknown. */
    readonly ownCustomerId?: string,
    /** Aborted when the client goes away: a wait for `minVersion` ends there. */
    readonly signal?: AbortSignal,
  ) {
    super();
  }
}

@QueryHandler(GetOrderQuery)
export class GetOrderHandler implements IQueryHandler<GetOrderQuery> {
  constructor(
    private readonly projection: OrderSummaryProjection,
    @Inject(READ_MODELS_OPTIONS) private readonly options: ReadModelsOptions,
    private readonly events: EventStore,
  ) {}

  async execute({ orderId, minVersion, ownCustomerId, signal }: GetOrderQuery): Promise<OrderSummary> {
    // Ownership before any wait: another customer's order is unknown at once, its version never told.
    const summary = await readAtLeast(
      `Order ${orderId}`,
      this.projection.collection,
      orderId,
      minVersion,
      this.options.readYourWritesTimeoutMs,
      {
        signal,
        visible: (order) => ownCustomerId === undefined || order.customerId === ownCustomerId,
        // No events, no version to wait for: the unknown id's 404 at once.
        streamExists: () => this.events.streamExists(orderStream(orderId)),
      },
    );
    if (!summary) throw orderNotFound(orderId);
    return summary;
  }
}
