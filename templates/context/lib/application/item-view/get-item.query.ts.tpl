import { Inject } from '@nestjs/common';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { readAtLeast, READ_MODELS_OPTIONS, type ReadModelsOptions } from '@app/read-models';
import { __itemCamel__NotFound } from '../../domain/__context__.errors.js';
import { __Item__ViewProjection } from './__item__-view.projection.js';
import type { __Item__View } from './__item__-view.read-model.js';

export class Get__Item__Query extends Query<__Item__View> {
  constructor(
    readonly __itemCamel__Id: string,
    /** Wait until the view reflects at least this version (read-your-writes). */
    readonly minVersion?: number,
    /** Aborted when the client goes away: a wait for `minVersion` ends there. */
    readonly signal?: AbortSignal,
  ) {
    super();
  }
}

@QueryHandler(Get__Item__Query)
export class Get__Item__Handler implements IQueryHandler<Get__Item__Query> {
  constructor(
    private readonly projection: __Item__ViewProjection,
    @Inject(READ_MODELS_OPTIONS) private readonly options: ReadModelsOptions,
  ) {}

  async execute({ __itemCamel__Id, minVersion, signal }: Get__Item__Query): Promise<__Item__View> {
    const view = await readAtLeast(
      `__Item__ ${__itemCamel__Id}`,
      this.projection.collection,
      __itemCamel__Id,
      minVersion,
      this.options.readYourWritesTimeoutMs,
      { signal },
    );
    if (!view) throw __itemCamel__NotFound(__itemCamel__Id);
    return view;
  }
}
