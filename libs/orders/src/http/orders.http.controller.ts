import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { newAggregateId, type CommandContext } from '@app/event-sourcing';
import {
  ApiCommandProblems,
  ApiProblems,
  ApiQueryProblems,
  Authenticated,
  ClientGone,
  CommandAcceptedDto,
  CurrentPrincipal,
  HttpProblem,
  MinVersionQueryDto,
  ownCustomerOf,
  RequestContext,
  RequestValidationError,
  type Principal,
} from '@app/http';
import { CancelOrderCommand } from '../application/cancel-order/cancel-order.command.js';
import { PlaceOrderCommand } from '../application/place-order/place-order.command.js';
import { GetOrderQuery } from '../application/order-summary/get-order.query.js';
import { ListOrdersQuery } from '../application/order-summary/list-orders.query.js';
import { CancelOrderRequestDto, PlaceOrderRequestDto } from './order.request.dto.js';
import { ListOrdersQueryDto, OrderPageView, OrderView } from './order.response.dto.js';

/**
 * Order ids are the UUIDs `POST /orders` hands out (random, or derived from an Idempotency-Key: version 4
 * or 5); anything else is a field error, like a body's.
 */
export const orderIdPipe = new ParseUUIDPipe({
  exceptionFactory: () => new RequestValidationError([{ field: 'id', message: 'id must be a UUID' }]),
});

export const orderIdParam = ApiParam({
  name: 'id',
  description: 'The order id `POST /orders` answered',
  schema: { type: 'string', format: 'uuid', example: '1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b' },
});

/** Commands: the write side (APP_ROLE command or all). */
@ApiTags('orders: commands')
@Controller('orders')
export class OrdersCommandsController {
  constructor(private readonly commands: CommandBus) {}

  @Post()
  @ApiOperation({ summary: 'Place an order (PENDING until inventory reserves its stock)' })
  @ApiCreatedResponse({ type: CommandAcceptedDto, description: 'Order placed: its new id and stream version' })
  @ApiCommandProblems({ 400: ['ORDER_INVALID'] })
  @Authenticated()
  @ApiProblems({ 403: ['FORBIDDEN'] })
  placeOrder(
    @Body() body: PlaceOrderRequestDto,
    @RequestContext() context: CommandContext,
    @CurrentPrincipal() principal: Principal,
  ) {
    const own = ownCustomerOf(principal);
    if (own !== undefined && body.customerId !== own)
      throw new HttpProblem('FORBIDDEN', 403, 'customerId must be the subject of your token');
    const order = {
      orderId: newAggregateId(context),
      customerId: body.customerId,
      currency: body.currency,
      lines: body.lines,
    };
    return this.commands.execute(new PlaceOrderCommand(order, context));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @orderIdParam
  @ApiOperation({ summary: 'Cancel a pending or confirmed order (releases its stock)' })
  @ApiBody({ type: CancelOrderRequestDto, required: false })
  @ApiOkResponse({ type: CommandAcceptedDto, description: 'Order cancelled: its id and new stream version' })
  @ApiCommandProblems({ 400: ['MALFORMED_URL'], 404: ['ORDER_NOT_FOUND'], 409: ['ORDER_NOT_CANCELLABLE'] })
  @Authenticated()
  cancelOrder(
    @Param('id', orderIdPipe) id: string,
    @Body() body: CancelOrderRequestDto,
    @RequestContext() context: CommandContext,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.commands.execute(new CancelOrderCommand(id, body.reason, context, ownCustomerOf(principal)));
  }
}

/** Queries: the read side (APP_ROLE query or all). */
@ApiTags('orders: queries')
@Controller('orders')
export class OrdersQueriesController {
  constructor(private readonly queries: QueryBus) {}

  @Get(':id')
  @orderIdParam
  @ApiOperation({ summary: 'One order, as projected from its events' })
  @ApiOkResponse({ type: OrderView, description: 'The order summary (at least at `minVersion` when given)' })
  @ApiQueryProblems({ 400: ['MALFORMED_URL'], 404: ['ORDER_NOT_FOUND'], 503: ['READ_MODEL_BEHIND', 'TOO_MANY_WAITS'] })
  @Authenticated()
  async getOrder(
    @Param('id', orderIdPipe) id: string,
    @Query() query: MinVersionQueryDto,
    @CurrentPrincipal() principal: Principal,
    @ClientGone() clientGone: AbortSignal,
  ) {
    // Another customer's order is answered as unknown (checked before any wait): order ids do not leak.
    return this.queries.execute(new GetOrderQuery(id, query.minVersion, ownCustomerOf(principal), clientGone));
  }

  @Get()
  @ApiOperation({ summary: 'Orders, newest first, filtered by status and customer, paginated by cursor' })
  @ApiOkResponse({ type: OrderPageView, description: 'One page of order summaries, newest first' })
  @ApiQueryProblems({ 400: ['CURSOR_INVALID'] })
  @Authenticated()
  async listOrders(@Query() query: ListOrdersQueryDto, @CurrentPrincipal() principal: Principal) {
    // A customer sees its own orders only: the filter is its subject, whatever else it asks for.
    const own = ownCustomerOf(principal);
    if (own !== undefined && query.customerId !== undefined && query.customerId !== own)
      return { items: [], nextCursor: null };
    const customerId = own ?? query.customerId;
    return this.queries.execute(
      new ListOrdersQuery({ status: query.status, customerId }, query.limit ?? 20, query.cursor),
    );
  }
}
