import { PageQueryDto } from '@app/http';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';

export class OrderLineView {
  @ApiProperty({ example: 'APPLE-RED' }) sku!: string;
  @ApiProperty({ type: 'integer', minimum: 1, example: 2 }) quantity!: number;
  @ApiProperty({ type: 'number', minimum: 0, multipleOf: 0.01, example: 1.25 }) unitPrice!: number;
}

export const ORDER_STATUSES = ['PENDING', 'CONFIRMED', 'REJECTED', 'CANCELLED'] as const;

export class OrderView {
  @ApiProperty({ format: 'uuid', example: '1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b' }) id!: string;
  @ApiProperty({ example: 'customer-42' }) customerId!: string;
  @ApiProperty({ enum: ORDER_STATUSES }) status!: string;
  @ApiProperty({ type: [OrderLineView] }) lines!: OrderLineView[];
  @ApiProperty({
    type: 'number',
    minimum: 0,
    multipleOf: 0.01,
    example: 12.5,
    description: 'Sum of the lines, to the cent',
  })
  total!: number;
  @ApiProperty({ example: 'EUR' }) currency!: string;
  @ApiProperty({ format: 'date-time' }) placedAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiProperty({ nullable: true, type: String, description: 'Rejection or cancellation reason' }) statusReason!:
    string | null;
  @ApiProperty({ type: 'integer', minimum: 1, description: 'Order stream version this view reflects' })
  version!: number;
}

export class OrderPageView {
  @ApiProperty({ type: [OrderView] }) items!: OrderView[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as cursor for the next page; null on the last' })
  nextCursor!: string | null;
}

export class ListOrdersQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: ORDER_STATUSES })
  @IsOptional()
  @IsIn(ORDER_STATUSES)
  status?: (typeof ORDER_STATUSES)[number];

  @ApiPropertyOptional({ maxLength: 100 })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  customerId?: string;
}

/** `GET /orders/live`: only orders of one status (as they enter it and change while in it). */
export class LiveOrdersQueryDto {
  @ApiPropertyOptional({ enum: ORDER_STATUSES })
  @IsOptional()
  @IsIn(ORDER_STATUSES)
  status?: (typeof ORDER_STATUSES)[number];
}
