import { SKU_PATTERN, SKU_RULE } from '@app/contracts';
import { MaxDecimalPlaces } from '@app/http';
import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsInt,
  IsNumber,
  IsObject,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';

export class OrderLineDto {
  @ApiProperty({ example: 'APPLE-RED', pattern: SKU_PATTERN.source, maxLength: 64 })
  @IsString()
  @Matches(SKU_PATTERN, { message: SKU_RULE })
  sku!: string;

  @ApiProperty({ type: 'integer', example: 2, minimum: 1, maximum: 1_000_000 })
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  quantity!: number;

  @ApiProperty({
    type: 'number',
    example: 1.25,
    minimum: 0,
    maximum: 1_000_000,
    multipleOf: 0.01,
    description:
      'Price per unit, at most 2 decimals as written in the JSON (19.99 and 1.1 are, 12.345, 1e-7 and 0.30000000000000004 are not)',
  })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @MaxDecimalPlaces(2)
  @Min(0)
  @Max(1_000_000)
  unitPrice!: number;
}

export class PlaceOrderRequestDto {
  @ApiProperty({ example: 'customer-42', minLength: 1, maxLength: 100 })
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  customerId!: string;

  @ApiProperty({ example: 'EUR', description: 'ISO 4217 currency code', pattern: '^[A-Z]{3}$' })
  @IsString()
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be a 3-letter ISO 4217 code in capitals' })
  currency!: string;

  @ApiProperty({ type: [OrderLineDto], minItems: 1, maxItems: 100 })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @IsObject({ each: true, message: 'each line must be an object { sku, quantity, unitPrice }' })
  @ValidateNested({ each: true })
  @Type(() => OrderLineDto)
  lines!: OrderLineDto[];
}

export class CancelOrderRequestDto {
  @ApiProperty({ required: false, example: 'Changed my mind', maxLength: 500 })
  // Absent is fine, `null` is not: the schema says string (IsOptional would let null through).
  @ValidateIf((_, value) => value !== undefined)
  @IsString()
  @MaxLength(500)
  reason?: string;
}
