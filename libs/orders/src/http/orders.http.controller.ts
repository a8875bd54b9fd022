import { randomUUID } from 'node:crypto';
import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { CommandContext } from '@app/event-sourcing';
import { ApiProblems, MinVersionQueryDto, RequestContext } from '@app/http';
import { CancelOrderCommand } from '../application/cancel-order/cancel-order.command.js';
import { PlaceOrderCommand } from '../application/place-order/place-order.command.js';
import { GetOrderQuery } from '../application/order-summary/get-order.query.js';
import { ListOrdersQuery } from '../application/order-summary/list-orders.query.js';
import { CancelOrderRequestDto, PlaceOrderRequestDto } from './place-order.request.dto.js';
import { CommandAcceptedDto, ListOrdersQueryDto, OrderPageView, OrderView } from './order.response.dto.js';

const orderIdPipe = new ParseUUIDPipe({ version: '4' });

/** Commands: the write side (APP_ROLE command or all). */
@ApiTags('orders')
@Controller('orders')
export class OrdersCommandsController {
  constructor(private readonly commands: CommandBus) {}

  @Post()
  @ApiOperation({ summary: 'Place an order (PENDING until inventory reserves its stock)' })
  @ApiCreatedResponse({ type: CommandAcceptedDto })
  @ApiProblems(400, 409, 413, 503)
  placeOrder(@Body() body: PlaceOrderRequestDto, @RequestContext() context: CommandContext) {
    const order = { orderId: randomUUID(), customerId: body.customerId, currency: body.currency, lines: body.lines };
    return this.commands.execute(new PlaceOrderCommand(order, context));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel a pending or confirmed order (releases its stock)' })
  @ApiBody({ type: CancelOrderRequestDto, required: false })
  @ApiOkResponse({ type: CommandAcceptedDto })
  @ApiProblems(400, 404, 409, 413, 503)
  cancelOrder(
    @Param('id', orderIdPipe) id: string,
    @Body() body: CancelOrderRequestDto,
    @RequestContext() context: CommandContext,
  ) {
    return this.commands.execute(new CancelOrderCommand(id, body.reason, context));
  }
}

/** Queries: the read side (APP_ROLE query or all). */
@ApiTags('orders')
@Controller('orders')
export class OrdersQueriesController {
  constructor(private readonly queries: QueryBus) {}

  @Get(':id')
  @ApiOperation({ summary: 'One order, as projected from its events' })
  @ApiOkResponse({ type: OrderView })
  @ApiProblems(400, 404, 503)
  getOrder(@Param('id', orderIdPipe) id: string, @Query() query: MinVersionQueryDto) {
    return this.queries.execute(new GetOrderQuery(id, query.minVersion));
  }

  @Get()
  @ApiOperation({ summary: 'Orders, newest first, filtered by status and customer, paginated by cursor' })
  @ApiOkResponse({ type: OrderPageView })
  @ApiProblems(400, 503)
  listOrders(@Query() query: ListOrdersQueryDto) {
    return this.queries.execute(
      new ListOrdersQuery({ status: query.status, customerId: query.customerId }, query.limit ?? 20, query.cursor),
    );
  }
}
