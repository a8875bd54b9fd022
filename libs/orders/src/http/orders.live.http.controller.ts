import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import {
  ApiProblems,
  CurrentPrincipal,
  hasAnyRole,
  LiveConnections,
  LiveFeedOperation,
  ownCustomerOf,
  ROLES,
  type Principal,
} from '@app/http';
import { LiveFeeds, type LiveFeed } from '@app/read-models';
import { orderNotFound } from '../domain/order.errors.js';
import { OrderSummaryProjection } from '../application/order-summary/order-summary.projection.js';
import type { OrderSummary } from '../application/order-summary/order-summary.read-model.js';
import { LiveOrdersQueryDto } from './order.response.dto.js';
import { orderIdParam, orderIdPipe } from './orders.http.controller.js';

/** Live feeds of the order summaries (Server-Sent Events): registered before `GET /orders/{id}`. */
@ApiTags('orders: queries')
@Controller('orders')
export class OrdersLiveController {
  readonly #feed: LiveFeed<OrderSummary>;

  constructor(
    private readonly connections: LiveConnections,
    feeds: LiveFeeds,
    projection: OrderSummaryProjection,
  ) {
    this.#feed = feeds.of(projection);
  }

  @Get('live')
  @ApiOperation({ summary: "Live: the caller's orders as they change (operators and admins: every order)" })
  @LiveFeedOperation('Order summaries as they change, optionally of one status')
  @ApiProblems({ 400: ['VALIDATION_FAILED'] })
  followOrders(
    @Query() query: LiveOrdersQueryDto,
    @Req() req: Request,
    @Res() res: Response,
    @CurrentPrincipal() principal: Principal,
  ): Promise<void> {
    const own = hasAnyRole(principal, [ROLES.operator]) ? undefined : ownCustomerOf(principal);
    const where = { customerId: own, status: query.status };
    return this.connections.serveMany(req, res, principal, this.#feed, {
      matches: (order) => (!own || order.customerId === own) && (!query.status || order.status === query.status),
      firstPage: async () => (await this.#feed.definition.collection.list({ where, limit: 50 })).items,
    });
  }

  @Get(':id/live')
  @orderIdParam
  @ApiOperation({ summary: 'Live: one order, its current state and then each change' })
  @LiveFeedOperation('The order summary, then each change of it')
  @ApiProblems({ 400: ['MALFORMED_URL'], 404: ['ORDER_NOT_FOUND'] })
  followOrder(
    @Param('id', orderIdPipe) id: string,
    @Req() req: Request,
    @Res() res: Response,
    @CurrentPrincipal() principal: Principal,
  ): Promise<void> {
    // Another customer's order is unknown, as in `GET /orders/{id}`.
    const own = ownCustomerOf(principal);
    return this.connections.serveDocument(req, res, principal, this.#feed, {
      id,
      visible: (order) => own === undefined || order.customerId === own,
      notFound: () => orderNotFound(id),
    });
  }
}
