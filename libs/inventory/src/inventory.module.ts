import { ProductsLiveController } from './http/products.live.http.controller.js';
import { Module, type DynamicModule } from '@nestjs/common';
import type { AppRole } from '@app/event-sourcing';
import { GetProductHandler } from './application/product-stock/get-product.query.js';
import { ListProductsHandler } from './application/product-stock/list-products.query.js';
import { ProductStockProjection } from './application/product-stock/product-stock.projection.js';
import { RegisterProductHandler } from './application/register-product/register-product.handler.js';
import { ReleaseStockHandler } from './application/release-stock/release-stock.handler.js';
import { OrderStockPolicy } from './application/reserve-stock/order-stock.policy.js';
import { ReserveStockHandler } from './application/reserve-stock/reserve-stock.handler.js';
import { RestockProductHandler } from './application/restock-product/restock-product.handler.js';
import { ProductsCommandsController, ProductsQueriesController } from './http/products.http.controller.js';
import { inventoryRepositoryProviders } from './infrastructure/inventory.repositories.js';

/**
 * The inventory bounded context: products and their stock, reservations for orders (all lines or
 * nothing) and their release, and the product stock read model.
 */
@Module({
  providers: [
    ...inventoryRepositoryProviders,
    RegisterProductHandler,
    RestockProductHandler,
    ReserveStockHandler,
    ReleaseStockHandler,
    OrderStockPolicy,
    ProductStockProjection,
    GetProductHandler,
    ListProductsHandler,
  ],
})
export class InventoryModule {
  /** The context's HTTP side for a process role: commands, queries or both. */
  static register({ role }: { role: AppRole }): DynamicModule {
    const controllers = {
      command: [ProductsCommandsController],
      query: [ProductsLiveController, ProductsQueriesController],
      all: [ProductsCommandsController, ProductsLiveController, ProductsQueriesController],
    }[role];
    return { module: InventoryModule, controllers };
  }
}
