import { Module, type DynamicModule } from '@nestjs/common';
import type { AppRole } from '@app/event-sourcing';
import { CancelOrderHandler } from './application/cancel-order/cancel-order.handler.js';
import { GetOrderHandler } from './application/order-summary/get-order.query.js';
import { ListOrdersHandler } from './application/order-summary/list-orders.query.js';
import { OrderSummaryProjection } from './application/order-summary/order-summary.projection.js';
import { PlaceOrderHandler } from './application/place-order/place-order.handler.js';
import { SettleOrderHandler } from './application/settle-order/settle-order.handler.js';
import { StockAnswerPolicy } from './application/settle-order/stock-answer.policy.js';
import { OrdersCommandsController, OrdersQueriesController } from './http/orders.http.controller.js';
import { OrdersLiveController } from './http/orders.live.http.controller.js';
import { ordersRepositoryProviders } from './infrastructure/orders.repositories.js';

/**
 * The orders bounded context: place and cancel orders, settle them by inventory's answer, and the
 * order summary read model. Needs EventSourcingModule and ReadModelsModule in the application.
 */
@Module({
  providers: [
    ...ordersRepositoryProviders,
    PlaceOrderHandler,
    CancelOrderHandler,
    SettleOrderHandler,
    StockAnswerPolicy,
    OrderSummaryProjection,
    GetOrderHandler,
    ListOrdersHandler,
  ],
})
export class OrdersModule {
  /** The context's HTTP side for a process role: commands, queries or both. */
  static register({ role }: { role: AppRole }): DynamicModule {
    const controllers = {
      command: [OrdersCommandsController],
      // The live routes before `GET /orders/{id}`, which would take `live` for an id.
      query: [OrdersLiveController, OrdersQueriesController],
      all: [OrdersCommandsController, OrdersLiveController, OrdersQueriesController],
    }[role];
    return { module: OrdersModule, controllers };
  }
}
