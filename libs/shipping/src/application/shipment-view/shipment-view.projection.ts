import { Injectable } from '@nestjs/common';
import { eventOfTypes, type RecordedEvent } from '@app/core';
import { SHIPMENT_CATEGORY, type ShipmentEvent } from '@app/contracts';
import { HandlesEvents, type EventHandler } from '@app/event-sourcing';
import { DocumentProjector, ReadModelStore, type DocumentCollection } from '@app/read-models';
import {
  evolveShipmentView,
  SHIPMENT_VIEW_EVENTS,
  SHIPMENT_VIEWS,
  type ShipmentView,
} from './shipment-view.read-model.js';

/** A recorded shipment event as the evolve function takes it. */
const shipmentEvent = (event: RecordedEvent): ShipmentEvent => eventOfTypes<ShipmentEvent>(event, SHIPMENT_VIEW_EVENTS);

@Injectable()
@HandlesEvents({
  name: 'shipping.shipment-view',
  kind: 'projection',
  categories: [SHIPMENT_CATEGORY],
  events: SHIPMENT_VIEW_EVENTS,
})
export class ShipmentViewProjection implements EventHandler {
  readonly collection: DocumentCollection<ShipmentView>;
  readonly #projector: DocumentProjector<ShipmentView>;

  constructor(store: ReadModelStore) {
    this.collection = store.collection(SHIPMENT_VIEWS);
    this.#projector = new DocumentProjector(this.collection, {
      documentId: (event) => shipmentEvent(event).data.shipmentId,
      evolve: (current, event) => evolveShipmentView(current, shipmentEvent(event)),
    });
  }

  async reset(): Promise<void> {
    this.#projector.forget();
    await this.collection.clear();
  }

  async handle(event: RecordedEvent): Promise<void> {
    await this.#projector.apply(event);
  }

  /** A consumed batch: one bulk write. */
  async handleBatch(events: readonly RecordedEvent[]): Promise<void> {
    await this.#projector.applyAll(events);
  }
}
