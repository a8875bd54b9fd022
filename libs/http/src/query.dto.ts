import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

/** `?minVersion=`: read your own write (the query waits, bounded, for the read model to reach it). */
export class MinVersionQueryDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: Number.MAX_SAFE_INTEGER,
    description:
      'Wait, at most READ_YOUR_WRITES_TIMEOUT_MS (2 s by default), until the view reflects at least this version ' +
      '(the `version` a command answered). An id with no events answers 404 at once. A version the stream has not ' +
      'reached yet is waited for too, since a later command or the workflow may write it (an order placed at ' +
      'version 1 is confirmed at 2); not reached in time: 503 `READ_MODEL_BEHIND` with `Retry-After`.',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  minVersion?: number;
}

/** `?limit=&cursor=`: cursor pagination of a listing; extend it with the listing's filters. */
export class PageQueryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @ApiPropertyOptional({
    description:
      'nextCursor of the previous page; absent or empty: the first page. Opaque: any other value answers 400 ' +
      '`CURSOR_INVALID`',
    maxLength: 512,
  })
  @IsOptional()
  // `cursor=` is what a client sends with an empty "previous nextCursor": the first page, not an error.
  @Transform(({ value }: { value: unknown }) => (value === '' ? undefined : value))
  @IsString()
  @MaxLength(512)
  cursor?: string;
}
