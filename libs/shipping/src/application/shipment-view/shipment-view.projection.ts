import { Injectable } from '@nestjs/common';
import { eventOfTypes, type RecordedEvent } from '@app/core';
import { SHIPMENT_CATEGORY, type ShipmentEvent } from '@app/contracts';
import { HandlesEvents, type EventHandler } from '@app/event-sourcing';
import { DocumentProjectionHandler, ReadModelStore } from '@app/read-models';
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
export class ShipmentViewProjection extends DocumentProjectionHandler<ShipmentView> implements EventHandler {
  constructor(store: ReadModelStore) {
    super(store, SHIPMENT_VIEWS, {
      documentId: (event) => shipmentEvent(event).data.shipmentId,
      evolve: (current, event) => evolveShipmentView(current, shipmentEvent(event)),
    });
  }
}
