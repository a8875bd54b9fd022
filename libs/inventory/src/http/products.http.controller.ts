import { Body, Controller, Get, HttpCode, Param, Post, Query, type PipeTransform } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { SKU_PATTERN, SKU_RULE } from '@app/contracts';
import type { CommandContext } from '@app/event-sourcing';
import {
  ApiCommandProblems,
  ApiQueryProblems,
  ClientGone,
  MinVersionQueryDto,
  Authenticated,
  PageQueryDto,
  RequestContext,
  RequestValidationError,
  RequireRoles,
  ROLES,
} from '@app/http';
import { RegisterProductCommand } from '../application/register-product/register-product.command.js';
import { RestockProductCommand } from '../application/restock-product/restock-product.command.js';
import { GetProductQuery } from '../application/product-stock/get-product.query.js';
import { ListProductsQuery } from '../application/product-stock/list-products.query.js';
import { RegisterProductRequestDto, RestockRequestDto } from './product.request.dto.js';
import { ProductAcceptedDto, ProductPageView, ProductView } from './product.response.dto.js';

/** SKUs in paths obey the same pattern as in bodies: no traversal, no operators, no surprises. */
export class SkuPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!SKU_PATTERN.test(value)) {
      throw new RequestValidationError([{ field: 'sku', message: SKU_RULE }]);
    }
    return value;
  }
}

export const skuParam = ApiParam({
  name: 'sku',
  example: 'APPLE-RED',
  schema: { type: 'string', pattern: SKU_PATTERN.source, maxLength: 64 },
});

/** Commands: the write side (APP_ROLE command or all). */
@ApiTags('inventory: commands')
@Controller('products')
export class ProductsCommandsController {
  constructor(private readonly commands: CommandBus) {}

  @Post()
  @ApiOperation({ summary: 'Register a product with its initial stock' })
  @ApiCreatedResponse({ type: ProductAcceptedDto, description: 'Product registered: its SKU and stream version' })
  @ApiCommandProblems({ 400: ['STOCK_QUANTITY_INVALID'], 409: ['PRODUCT_ALREADY_REGISTERED'] })
  @RequireRoles(ROLES.operator)
  async register(@Body() body: RegisterProductRequestDto, @RequestContext() context: CommandContext) {
    const { version } = await this.commands.execute(
      new RegisterProductCommand(body.sku, body.name, body.initialStock, context),
    );
    return { sku: body.sku, version };
  }

  @Post(':sku/restock')
  @HttpCode(200)
  @skuParam
  @ApiOperation({ summary: 'Add stock to a product' })
  @ApiOkResponse({ type: ProductAcceptedDto, description: 'Stock added: the SKU and its new stream version' })
  @ApiCommandProblems({ 400: ['MALFORMED_URL', 'STOCK_QUANTITY_INVALID'], 404: ['PRODUCT_NOT_FOUND'] })
  @RequireRoles(ROLES.operator)
  async restock(
    @Param('sku', SkuPipe) sku: string,
    @Body() body: RestockRequestDto,
    @RequestContext() context: CommandContext,
  ) {
    const { version } = await this.commands.execute(new RestockProductCommand(sku, body.quantity, context));
    return { sku, version };
  }
}

/** Queries: the read side (APP_ROLE query or all). */
@ApiTags('inventory: queries')
@Controller('products')
export class ProductsQueriesController {
  constructor(private readonly queries: QueryBus) {}

  @Get(':sku')
  @skuParam
  @ApiOperation({ summary: 'Stock of one product, as projected from its events' })
  @ApiOkResponse({ type: ProductView, description: 'The stock view (at least at `minVersion` when given)' })
  @ApiQueryProblems({
    400: ['MALFORMED_URL'],
    404: ['PRODUCT_NOT_FOUND'],
    503: ['READ_MODEL_BEHIND', 'TOO_MANY_WAITS'],
  })
  @Authenticated()
  async get(
    @Param('sku', SkuPipe) sku: string,
    @Query() query: MinVersionQueryDto,
    @ClientGone() clientGone: AbortSignal,
  ) {
    const { id: _id, ...view } = await this.queries.execute(new GetProductQuery(sku, query.minVersion, clientGone));
    return view;
  }

  @Get()
  @ApiOperation({ summary: 'Products by SKU, paginated by cursor' })
  @ApiOkResponse({ type: ProductPageView, description: 'One page of stock views, by SKU' })
  @ApiQueryProblems({ 400: ['CURSOR_INVALID'] })
  @Authenticated()
  async list(@Query() query: PageQueryDto) {
    const page = await this.queries.execute(new ListProductsQuery(query.limit ?? 20, query.cursor));
    return { items: page.items.map(({ id: _id, ...view }) => view), nextCursor: page.nextCursor };
  }
}
