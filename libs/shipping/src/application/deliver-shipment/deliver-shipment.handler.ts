import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { Clock } from '@app/core';
import { CLOCK } from '@app/event-sourcing';
import { SHIPMENT_REPOSITORY, type ShipmentRepository } from '../../infrastructure/shipping.repositories.js';
import { DeliverShipmentCommand } from './deliver-shipment.command.js';

@CommandHandler(DeliverShipmentCommand)
export class DeliverShipmentHandler implements ICommandHandler<DeliverShipmentCommand> {
  constructor(
    @Inject(SHIPMENT_REPOSITORY) private readonly shipments: ShipmentRepository,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  execute({ shipmentId, context }: DeliverShipmentCommand) {
    return this.shipments.update(shipmentId, (shipment) => shipment.deliver(this.clock.now()), context);
  }
}
