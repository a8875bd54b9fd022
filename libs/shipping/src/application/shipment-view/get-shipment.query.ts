import { Inject } from '@nestjs/common';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { EventStore } from '@app/event-sourcing';
import { shipmentStream } from '@app/contracts';
import { readAtLeast, READ_MODELS_OPTIONS, type ReadModelsOptions } from '@app/read-models';
import { shipmentNotFound } from '../../domain/shipping.errors.js';
import { ShipmentViewProjection } from './shipment-view.projection.js';
import type { ShipmentView } from './shipment-view.read-model.js';

export class GetShipmentQuery extends Query<ShipmentView> {
  constructor(
    readonly shipmentId: string,
    /** Wait until the view reflects at least this version (read-your-writes). */
    readonly minVersion?: number,
    /** Aborted when the client goes away: a wait for `minVersion` ends there. */
    readonly signal?: AbortSignal,
  ) {
    super();
  }
}

@QueryHandler(GetShipmentQuery)
export class GetShipmentHandler implements IQueryHandler<GetShipmentQuery> {
  constructor(
    private readonly projection: ShipmentViewProjection,
    @Inject(READ_MODELS_OPTIONS) private readonly options: ReadModelsOptions,
    private readonly events: EventStore,
  ) {}

  async execute({ shipmentId, minVersion, signal }: GetShipmentQuery): Promise<ShipmentView> {
    const view = await readAtLeast(
      `Shipment ${shipmentId}`,
      this.projection.collection,
      shipmentId,
      minVersion,
      this.options.readYourWritesTimeoutMs,
      { signal, streamExists: () => this.events.streamExists(shipmentStream(shipmentId)) },
    );
    if (!view) throw shipmentNotFound(shipmentId);
    return view;
  }
}
