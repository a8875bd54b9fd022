import { ApiProperty } from '@nestjs/swagger';

export class ProductAcceptedDto {
  @ApiProperty({ example: 'APPLE-RED' }) sku!: string;
  @ApiProperty({
    type: 'integer',
    minimum: 1,
    example: 1,
    description: 'Stream version after the command; pass as minVersion to read your write',
  })
  version!: number;
}

export class ProductView {
  @ApiProperty({ example: 'APPLE-RED' }) sku!: string;
  @ApiProperty({ example: 'Red apple' }) name!: string;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Units that can still be reserved' }) available!: number;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Units held for orders' }) reserved!: number;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiProperty({ type: 'integer', minimum: 1, description: 'Product stream version this view reflects' })
  version!: number;
}

export class ProductPageView {
  @ApiProperty({ type: [ProductView] }) items!: ProductView[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as cursor for the next page; null on the last' })
  nextCursor!: string | null;
}
