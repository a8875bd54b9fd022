import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches, MaxLength, MinLength } from 'class-validator';

export class DispatchShipmentRequestDto {
  @ApiProperty({ example: 'DHL', minLength: 1, maxLength: 100 })
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  carrier!: string;

  @ApiProperty({
    example: 'JD014600006281230704',
    pattern: '^[A-Za-z0-9-]{1,64}$',
    description: "The carrier's tracking code: 1-64 letters, digits or '-'",
  })
  @IsString()
  @Matches(/^[A-Za-z0-9-]{1,64}$/, { message: "trackingCode must be 1-64 letters, digits or '-'" })
  trackingCode!: string;
}
