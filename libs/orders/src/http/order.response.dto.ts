import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { Type } from 'class-transformer';

export class CommandAcceptedDto {
  @ApiProperty({ example: '1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b' }) id!: string;
  @ApiProperty({ example: 1, description: 'Stream version after the command; pass as minVersion to read your write' })
  version!: number;
}

export class OrderLineView {
  @ApiProperty() sku!: string;
  @ApiProperty() quantity!: number;
  @ApiProperty() unitPrice!: number;
}

export const ORDER_STATUSES = ['PENDING', 'CONFIRMED', 'REJECTED', 'CANCELLED'] as const;

export class OrderView {
  @ApiProperty() id!: string;
  @ApiProperty() customerId!: string;
  @ApiProperty({ enum: ORDER_STATUSES }) status!: string;
  @ApiProperty({ type: [OrderLineView] }) lines!: OrderLineView[];
  @ApiProperty({ example: 12.5 }) total!: number;
  @ApiProperty({ example: 'EUR' }) currency!: string;
  @ApiProperty() placedAt!: string;
  @ApiProperty() updatedAt!: string;
  @ApiProperty({ nullable: true, type: String, description: 'Rejection or cancellation reason' }) statusReason!:
    string | null;
  @ApiProperty({ description: 'Order stream version this view reflects' }) version!: number;
}

export class OrderPageView {
  @ApiProperty({ type: [OrderView] }) items!: OrderView[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class MinVersionQueryDto {
  @ApiPropertyOptional({ minimum: 1, description: 'Wait (bounded) until the view reflects at least this version' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  minVersion?: number;
}

export class ListOrdersQueryDto {
  @ApiPropertyOptional({ enum: ORDER_STATUSES })
  @IsOptional()
  @IsIn(ORDER_STATUSES)
  status?: (typeof ORDER_STATUSES)[number];

  @ApiPropertyOptional({ maxLength: 100 })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  customerId?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page', maxLength: 512 })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  cursor?: string;
}
