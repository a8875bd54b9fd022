import { Inject } from '@nestjs/common';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { EventStore } from '@app/event-sourcing';
import { productStream } from '@app/contracts';
import { readAtLeast, READ_MODELS_OPTIONS, type ReadModelsOptions } from '@app/read-models';
import { productNotFound } from '../../domain/inventory.errors.js';
import { ProductStockProjection } from './product-stock.projection.js';
import type { ProductStock } from './product-stock.read-model.js';

export class GetProductQuery extends Query<ProductStock> {
  constructor(
    readonly sku: string,
    /** Wait until the stock reflects at least this version (read-your-writes). */
    readonly minVersion?: number,
    /** Aborted when the client goes away: a wait for `minVersion` ends there. */
    readonly signal?: AbortSignal,
  ) {
    super();
  }
}

@QueryHandler(GetProductQuery)
export class GetProductHandler implements IQueryHandler<GetProductQuery> {
  constructor(
    private readonly projection: ProductStockProjection,
    @Inject(READ_MODELS_OPTIONS) private readonly options: ReadModelsOptions,
    private readonly events: EventStore,
  ) {}

  async execute({ sku, minVersion, signal }: GetProductQuery): Promise<ProductStock> {
    const stock = await readAtLeast(
      `Product ${sku}`,
      this.projection.collection,
      sku,
      minVersion,
      this.options.readYourWritesTimeoutMs,
      { signal, streamExists: () => this.events.streamExists(productStream(sku)) },
    );
    if (!stock) throw productNotFound(sku);
    return stock;
  }
}
