import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { Clock } from '@app/core';
import { CLOCK } from '@app/event-sourcing';
import { SHIPMENT_REPOSITORY, type ShipmentRepository } from '../../infrastructure/shipping.repositories.js';
import { DispatchShipmentCommand } from './dispatch-shipment.command.js';

@CommandHandler(DispatchShipmentCommand)
export class DispatchShipmentHandler implements ICommandHandler<DispatchShipmentCommand> {
  constructor(
    @Inject(SHIPMENT_REPOSITORY) private readonly shipments: ShipmentRepository,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  execute({ shipmentId, dispatch, context }: DispatchShipmentCommand) {
    return this.shipments.update(shipmentId, (shipment) => shipment.dispatch(dispatch, this.clock.now()), context);
  }
}
