import { PageQueryDto } from '@app/http';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { __ITEM___STATUSES, type __Item__Status } from '../domain/__item__.js';

export class __Item__View {
  @ApiProperty({ format: 'uuid', example: '1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b' }) id!: string;
  @ApiProperty({ example: 'First' }) title!: string;
  @ApiProperty({ enum: __ITEM___STATUSES }) status!: string;
  @ApiProperty({ format: 'date-time' }) openedAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiProperty({ type: 'integer', minimum: 1, description: '__Item__ stream version this view reflects' })
  version!: number;
}

export class __Item__PageView {
  @ApiProperty({ type: [__Item__View] }) items!: __Item__View[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as cursor for the next page; null on the last' })
  nextCursor!: string | null;
}

export class List__Item__sQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: __ITEM___STATUSES })
  @IsOptional()
  @IsIn(__ITEM___STATUSES)
  status?: __Item__Status;
}
