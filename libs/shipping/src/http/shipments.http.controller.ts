import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { CommandContext } from '@app/event-sourcing';
import {
  ApiCommandProblems,
  ApiQueryProblems,
  ClientGone,
  CommandAcceptedDto,
  MinVersionQueryDto,
  RequestContext,
  RequestValidationError,
  RequireRoles,
  ROLES,
} from '@app/http';
import { DeliverShipmentCommand } from '../application/deliver-shipment/deliver-shipment.command.js';
import { DispatchShipmentCommand } from '../application/dispatch-shipment/dispatch-shipment.command.js';
import { GetShipmentQuery } from '../application/shipment-view/get-shipment.query.js';
import { ListShipmentsQuery } from '../application/shipment-view/list-shipments.query.js';
import { DispatchShipmentRequestDto } from './shipment.request.dto.js';
import { ListShipmentsQueryDto, ShipmentPageView, ShipmentView } from './shipment.response.dto.js';

/**
 * Shipment ids are name-based UUIDs (version 5) of the order id, but the document promises only `format: uuid`:
 * a well-formed UUID of any version is looked up (an unknown one answers 404); anything else is a field error.
 */
export const shipmentIdPipe = new ParseUUIDPipe({
  exceptionFactory: () => new RequestValidationError([{ field: 'id', message: 'id must be a UUID' }]),
});

export const shipmentIdParam = ApiParam({
  name: 'id',
  description: "The shipment id (derived from the order's id; see `GET /shipments?orderId=`)",
  schema: { type: 'string', format: 'uuid', example: '0c6f3f4e-2a1b-5c3d-9e8f-7a6b5c4d3e2f' },
});

/** Commands: the write side (APP_ROLE command or all). */
@ApiTags('shipping: commands')
@Controller('shipments')
export class ShipmentsCommandsController {
  constructor(private readonly commands: CommandBus) {}

  @Post(':id/dispatch')
  @HttpCode(200)
  @shipmentIdParam
  @ApiOperation({ summary: 'Hand a shipment awaiting dispatch to a carrier' })
  @ApiOkResponse({ type: CommandAcceptedDto, description: 'Shipment dispatched: its id and new stream version' })
  @ApiCommandProblems({
    400: ['MALFORMED_URL'],
    404: ['SHIPMENT_NOT_FOUND'],
    409: ['SHIPMENT_TRANSITION_INVALID'],
  })
  @RequireRoles(ROLES.operator)
  dispatch(
    @Param('id', shipmentIdPipe) id: string,
    @Body() body: DispatchShipmentRequestDto,
    @RequestContext() context: CommandContext,
  ) {
    const dispatch = { carrier: body.carrier, trackingCode: body.trackingCode };
    return this.commands.execute(new DispatchShipmentCommand(id, dispatch, context));
  }

  @Post(':id/deliver')
  @HttpCode(200)
  @shipmentIdParam
  @ApiOperation({ summary: 'Record that a dispatched shipment was delivered' })
  @ApiOkResponse({ type: CommandAcceptedDto, description: 'Shipment delivered: its id and new stream version' })
  @ApiCommandProblems({
    400: ['MALFORMED_URL'],
    404: ['SHIPMENT_NOT_FOUND'],
    409: ['SHIPMENT_TRANSITION_INVALID'],
  })
  @RequireRoles(ROLES.operator)
  deliver(@Param('id', shipmentIdPipe) id: string, @RequestContext() context: CommandContext) {
    return this.commands.execute(new DeliverShipmentCommand(id, context));
  }
}

/** Queries: the read side (APP_ROLE query or all). */
@ApiTags('shipping: queries')
@Controller('shipments')
export class ShipmentsQueriesController {
  constructor(private readonly queries: QueryBus) {}

  @Get(':id')
  @shipmentIdParam
  @ApiOperation({ summary: 'One shipment, as projected from its events' })
  @ApiOkResponse({ type: ShipmentView, description: 'The shipment (at least at `minVersion` when given)' })
  @ApiQueryProblems({
    400: ['MALFORMED_URL'],
    404: ['SHIPMENT_NOT_FOUND'],
    503: ['READ_MODEL_BEHIND', 'TOO_MANY_WAITS'],
  })
  // Shipments carry no customer id to check ownership against: staff only.
  @RequireRoles(ROLES.operator)
  getShipment(
    @Param('id', shipmentIdPipe) id: string,
    @Query() query: MinVersionQueryDto,
    @ClientGone() clientGone: AbortSignal,
  ) {
    return this.queries.execute(new GetShipmentQuery(id, query.minVersion, clientGone));
  }

  @Get()
  @ApiOperation({ summary: 'Shipments, newest first, filtered by order and status, paginated by cursor' })
  @ApiOkResponse({ type: ShipmentPageView, description: 'One page of shipments, newest first' })
  @ApiQueryProblems({ 400: ['CURSOR_INVALID'] })
  @RequireRoles(ROLES.operator)
  listShipments(@Query() query: ListShipmentsQueryDto) {
    return this.queries.execute(
      new ListShipmentsQuery({ orderId: query.orderId, status: query.status }, query.limit ?? 20, query.cursor),
    );
  }
}
