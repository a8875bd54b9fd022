import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { Page } from '@app/read-models';
import type { ShipmentStatus } from '../../domain/shipment.js';
import { ShipmentViewProjection } from './shipment-view.projection.js';
import type { ShipmentView } from './shipment-view.read-model.js';

export class ListShipmentsQuery extends Query<Page<ShipmentView>> {
  constructor(
    readonly filter: { readonly orderId?: string; readonly status?: ShipmentStatus },
    readonly limit: number,
    readonly cursor?: string,
  ) {
    super();
  }
}

/** Newest first; filter by order and/or status; cursor pagination. */
@QueryHandler(ListShipmentsQuery)
export class ListShipmentsHandler implements IQueryHandler<ListShipmentsQuery> {
  constructor(private readonly projection: ShipmentViewProjection) {}

  execute({ filter, limit, cursor }: ListShipmentsQuery): Promise<Page<ShipmentView>> {
    return this.projection.collection.list({ where: filter, limit, cursor });
  }
}
