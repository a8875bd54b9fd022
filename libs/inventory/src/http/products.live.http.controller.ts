import { Controller, Get, Param, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiProblems, CurrentPrincipal, LiveConnections, LiveFeedOperation, type Principal } from '@app/http';
import { LiveFeeds, type LiveFeed } from '@app/read-models';
import { productNotFound } from '../domain/inventory.errors.js';
import { ProductStockProjection } from '../application/product-stock/product-stock.projection.js';
import type { ProductStock } from '../application/product-stock/product-stock.read-model.js';
import { SkuPipe, skuParam } from './products.http.controller.js';

/** Live feeds of the product stock levels (Server-Sent Events): registered before `GET /products/{sku}`. */
@ApiTags('inventory: queries')
@Controller('products')
export class ProductsLiveController {
  readonly #feed: LiveFeed<ProductStock>;

  constructor(
    private readonly connections: LiveConnections,
    feeds: LiveFeeds,
    projection: ProductStockProjection,
  ) {
    this.#feed = feeds.of(projection);
  }

  @Get('live')
  @ApiOperation({ summary: 'Live: every product, its stock moving as orders reserve and release it' })
  @LiveFeedOperation('Stock levels of the products (the first 100 by SKU), then each change')
  followProducts(@Req() req: Request, @Res() res: Response, @CurrentPrincipal() principal: Principal): Promise<void> {
    return this.connections.serveMany(req, res, principal, this.#feed, {
      matches: () => true,
      firstPage: async () => (await this.#feed.definition.collection.list({ limit: 100 })).items,
    });
  }

  @Get(':sku/live')
  @skuParam
  @ApiOperation({ summary: 'Live: one product, its stock level and then each change' })
  @LiveFeedOperation('The stock level of the product, then each change of it')
  @ApiProblems({ 400: ['VALIDATION_FAILED'], 404: ['PRODUCT_NOT_FOUND'] })
  followProduct(
    @Param('sku', SkuPipe) sku: string,
    @Req() req: Request,
    @Res() res: Response,
    @CurrentPrincipal() principal: Principal,
  ): Promise<void> {
    return this.connections.serveDocument(req, res, principal, this.#feed, {
      id: sku,
      notFound: () => productNotFound(sku),
    });
  }
}
