import { PageQueryDto } from '@app/http';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';

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
