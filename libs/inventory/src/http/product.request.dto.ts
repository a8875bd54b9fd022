import { SKU_PATTERN, SKU_RULE } from '@app/contracts';
import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { MAX_STOCK } from '../domain/product.js';

export class RegisterProductRequestDto {
  @ApiProperty({ example: 'APPLE-RED', pattern: SKU_PATTERN.source, maxLength: 64 })
  @IsString()
  @Matches(SKU_PATTERN, { message: SKU_RULE })
  sku!: string;

  @ApiProperty({ example: 'Red apple', minLength: 1, maxLength: 200 })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name!: string;

  @ApiProperty({ type: 'integer', example: 100, minimum: 0, maximum: MAX_STOCK })
  @IsInt()
  @Min(0)
  @Max(MAX_STOCK)
  initialStock!: number;
}

export class RestockRequestDto {
  @ApiProperty({ type: 'integer', example: 25, minimum: 1, maximum: MAX_STOCK })
  @IsInt()
  @Min(1)
  @Max(MAX_STOCK)
  quantity!: number;
}
