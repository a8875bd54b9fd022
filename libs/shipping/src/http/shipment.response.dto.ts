import { PageQueryDto } from '@app/http';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsUUID } from 'class-validator';
import { SHIPMENT_STATUSES, type ShipmentStatus } from '../domain/shipment.js';

export class ShipmentLineView {
  @ApiProperty({ example: 'APPLE-RED' }) sku!: string;
  @ApiProperty({ type: 'integer', minimum: 1, example: 2 }) quantity!: number;
}

export class ShipmentView {
  @ApiProperty({
    format: 'uuid',
    example: '0c6f3f4e-2a1b-5c3d-9e8f-7a6b5c4d3e2f',
    description: 'Derived from the order id',
  })
  id!: string;
  @ApiProperty({ format: 'uuid', example: '1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b' }) orderId!: string;
  @ApiProperty({ enum: SHIPMENT_STATUSES }) status!: string;
  @ApiProperty({ type: [ShipmentLineView] }) lines!: ShipmentLineView[];
  @ApiProperty({ nullable: true, type: String, description: 'Set when dispatched' }) carrier!: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'Set when dispatched' }) trackingCode!: string | null;
  @ApiProperty({ type: 'integer', minimum: 1, description: 'Shipment stream version this view reflects' })
  version!: number;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class ShipmentPageView {
  @ApiProperty({ type: [ShipmentView] }) items!: ShipmentView[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as cursor for the next page; null on the last' })
  nextCursor!: string | null;
}

export class ListShipmentsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  orderId?: string;

  @ApiPropertyOptional({ enum: SHIPMENT_STATUSES })
  @IsOptional()
  @IsIn(SHIPMENT_STATUSES)
  status?: ShipmentStatus;
}
