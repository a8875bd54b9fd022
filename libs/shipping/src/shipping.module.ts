import { ShipmentsLiveController } from './http/shipments.live.http.controller.js';
import { Module, type DynamicModule } from '@nestjs/common';
import type { AppRole } from '@app/event-sourcing';
import { CancelShipmentHandler } from './application/cancel-shipment/cancel-shipment.handler.js';
import { CreateShipmentHandler } from './application/create-shipment/create-shipment.handler.js';
import { OrderShipmentPolicy } from './application/create-shipment/order-shipment.policy.js';
import { DeliverShipmentHandler } from './application/deliver-shipment/deliver-shipment.handler.js';
import { DispatchShipmentHandler } from './application/dispatch-shipment/dispatch-shipment.handler.js';
import { RecordOrderLinesHandler } from './application/record-order-lines/record-order-lines.handler.js';
import { GetShipmentHandler } from './application/shipment-view/get-shipment.query.js';
import { ListShipmentsHandler } from './application/shipment-view/list-shipments.query.js';
import { ShipmentViewProjection } from './application/shipment-view/shipment-view.projection.js';
import { ShipmentsCommandsController, ShipmentsQueriesController } from './http/shipments.http.controller.js';
import { shippingRepositoryProviders } from './infrastructure/shipping.repositories.js';

/**
 * The shipping bounded context, added after orders and inventory without changing them: it follows the
 * orders context's published events (lines on OrderPlaced, a shipment on OrderConfirmed, cancellation on
 * OrderCancelled), and its shipments are dispatched and delivered over HTTP.
 */
@Module({
  providers: [
    ...shippingRepositoryProviders,
    RecordOrderLinesHandler,
    CreateShipmentHandler,
    CancelShipmentHandler,
    DispatchShipmentHandler,
    DeliverShipmentHandler,
    OrderShipmentPolicy,
    ShipmentViewProjection,
    GetShipmentHandler,
    ListShipmentsHandler,
  ],
})
export class ShippingModule {
  /** The context's HTTP side for a process role: commands, queries or both. */
  static register({ role }: { role: AppRole }): DynamicModule {
    const controllers = {
      command: [ShipmentsCommandsController],
      query: [ShipmentsLiveController, ShipmentsQueriesController],
      all: [ShipmentsCommandsController, ShipmentsLiveController, ShipmentsQueriesController],
    }[role];
    return { module: ShippingModule, controllers };
  }
}
