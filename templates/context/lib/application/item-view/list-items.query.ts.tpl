import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { Page } from '@app/read-models';
import type { __Item__Status } from '../../domain/__item__.js';
import { __Item__ViewProjection } from './__item__-view.projection.js';
import type { __Item__View } from './__item__-view.read-model.js';

export class List__Item__sQuery extends Query<Page<__Item__View>> {
  constructor(
    readonly filter: { readonly status?: __Item__Status },
    readonly limit: number,
    readonly cursor?: string,
  ) {
    super();
  }
}

/** Newest first; filter by status; cursor pagination. */
@QueryHandler(List__Item__sQuery)
export class List__Item__sHandler implements IQueryHandler<List__Item__sQuery> {
  constructor(private readonly projection: __Item__ViewProjection) {}

  execute({ filter, limit, cursor }: List__Item__sQuery): Promise<Page<__Item__View>> {
    return this.projection.collection.list({ where: filter, limit, cursor });
  }
}
