import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { Clock } from '@app/core';
import { CLOCK } from '@app/event-sourcing';
import {
  SHIPMENT_REPOSITORY,
  SHIPPING_ORDER_REPOSITORY,
  shipmentIdOf,
  type ShipmentRepository,
  type ShippingOrderRepository,
} from '../../infrastructure/shipping.repositories.js';
import { CreateShipmentCommand } from './create-shipment.command.js';

@CommandHandler(CreateShipmentCommand)
export class CreateShipmentHandler implements ICommandHandler<CreateShipmentCommand> {
  constructor(
    @Inject(SHIPPING_ORDER_REPOSITORY) private readonly orders: ShippingOrderRepository,
    @Inject(SHIPMENT_REPOSITORY) private readonly shipments: ShipmentRepository,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ orderId, context }: CreateShipmentCommand) {
    const { lines } = await this.orders.load(orderId);
    const shipmentId = shipmentIdOf(orderId);
    return this.shipments.upsert(
      shipmentId,
      (shipment) => shipment.create(shipmentId, orderId, lines, this.clock.now()),
      context,
      { assumeNew: true }, // one shipment per confirmed order: new but on a redelivery
    );
  }
}
