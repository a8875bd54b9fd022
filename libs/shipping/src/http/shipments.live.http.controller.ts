import { Controller, Get, Param, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiProblems, CurrentPrincipal, LiveConnections, LiveFeedOperation, ROLES, type Principal } from '@app/http';
import { LiveFeeds, type LiveFeed } from '@app/read-models';
import { shipmentNotFound } from '../domain/shipping.errors.js';
import { ShipmentViewProjection } from '../application/shipment-view/shipment-view.projection.js';
import type { ShipmentView } from '../application/shipment-view/shipment-view.read-model.js';
import { shipmentIdParam, shipmentIdPipe } from './shipments.http.controller.js';

/** Live feed of a shipment (Server-Sent Events): staff only, like `GET /shipments/{id}`. */
@ApiTags('shipping: queries')
@Controller('shipments')
export class ShipmentsLiveController {
  readonly #feed: LiveFeed<ShipmentView>;

  constructor(
    private readonly connections: LiveConnections,
    feeds: LiveFeeds,
    projection: ShipmentViewProjection,
  ) {
    this.#feed = feeds.of(projection);
  }

  @Get(':id/live')
  @shipmentIdParam
  @ApiOperation({ summary: 'Live: one shipment, its current state and then each change' })
  @LiveFeedOperation('The shipment, then each change of it', ROLES.operator)
  @ApiProblems({ 400: ['MALFORMED_URL'], 404: ['SHIPMENT_NOT_FOUND'] })
  followShipment(
    @Param('id', shipmentIdPipe) id: string,
    @Req() req: Request,
    @Res() res: Response,
    @CurrentPrincipal() principal: Principal,
  ): Promise<void> {
    return this.connections.serveDocument(req, res, principal, this.#feed, {
      id,
      notFound: () => shipmentNotFound(id),
    });
  }
}
