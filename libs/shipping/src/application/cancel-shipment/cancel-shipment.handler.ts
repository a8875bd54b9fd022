import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { Clock } from '@app/core';
import { CLOCK } from '@app/event-sourcing';
import {
  SHIPMENT_REPOSITORY,
  shipmentIdOf,
  type ShipmentRepository,
} from '../../infrastructure/shipping.repositories.js';
import { CancelShipmentCommand } from './cancel-shipment.command.js';

@CommandHandler(CancelShipmentCommand)
export class CancelShipmentHandler implements ICommandHandler<CancelShipmentCommand> {
  constructor(
    @Inject(SHIPMENT_REPOSITORY) private readonly shipments: ShipmentRepository,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ orderId, reason, context }: CancelShipmentCommand) {
    const shipmentId = shipmentIdOf(orderId);
    // An order cancelled before it was confirmed has no shipment: nothing to cancel.
    if (!(await this.shipments.find(shipmentId))) return { id: shipmentId, version: 0 };
    return this.shipments.update(shipmentId, (shipment) => shipment.cancel(reason, this.clock.now()), context);
  }
}
