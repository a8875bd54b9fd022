import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsString, Length, Matches, ValidateIf } from 'class-validator';

const REF_EXAMPLE = 'orders.order.dlq:0:42';
const REF_PATTERN = '^[A-Za-z0-9._-]{1,249}\\.dlq:(0|[1-9]\\d{0,5}):(0|[1-9]\\d{0,18})$';
const REF_MESSAGE = 'each value in refs must be a dead-letter ref (<topic>.dlq:<partition>:<offset>, as listed)';
const TOPIC_PATTERN = '^[A-Za-z0-9._-]{1,249}$';
const TOPIC_MESSAGE = 'topic must be a Kafka topic name (letters, digits, ".", "_", "-")';

/** A ref as a path parameter of the OpenAPI document. */
export const REF_PARAM = { type: 'string', pattern: REF_PATTERN, example: REF_EXAMPLE } as const;

export class DeadLettersQueryDto {
  @ApiPropertyOptional({
    description: 'Only this event topic (orders.order, with or without the environment prefix) or dead-letter topic',
    pattern: TOPIC_PATTERN,
    example: 'orders.order',
  })
  // Absent is fine, `null` is not (a body's topic): IsOptional would let null through.
  @ValidateIf((_, value) => value !== undefined)
  @Matches(new RegExp(TOPIC_PATTERN), { message: TOPIC_MESSAGE })
  topic?: string;
}

export class RedriveRequestDto {
  @ApiProperty({
    type: [String],
    items: { type: 'string', pattern: REF_PATTERN },
    minItems: 1,
    maxItems: 100,
    example: [REF_EXAMPLE],
    description: 'The dead letters, by ref as listed (at most 100 a request; see the -all operations)',
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @Matches(new RegExp(REF_PATTERN), { each: true, message: REF_MESSAGE })
  refs!: string[];
}

export class RedriveAllRequestDto extends DeadLettersQueryDto {}

const Reason = () =>
  applyDecorators(
    ApiProperty({ description: 'Why (recorded with each)', minLength: 1, maxLength: 2000, example: 'sent by hand' }),
    IsString(),
    Length(1, 2000),
  );

export class DiscardRequestDto extends RedriveRequestDto {
  @Reason() reason!: string;
}

export class DiscardAllRequestDto extends DeadLettersQueryDto {
  @Reason() reason!: string;
}

class OriginDto {
  @ApiProperty({ example: 'orders.order' }) topic!: string;
  @ApiProperty({ type: 'integer', nullable: true, example: 0 }) partition!: number | null;
  @ApiProperty({ type: String, nullable: true, example: '17' }) offset!: string | null;
}

export class DeadLetterSummaryDto {
  @ApiProperty({ example: REF_EXAMPLE }) ref!: string;
  @ApiProperty({ type: OriginDto }) origin!: OriginDto;
  @ApiProperty({ type: String, nullable: true, example: 'orders', description: 'The consumer group that failed it' })
  group!: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'OrderConfirmed' }) eventType!: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'Order-0b6d...' }) streamId!: string | null;
  @ApiProperty({ type: 'integer', nullable: true, example: 2 }) streamVersion!: number | null;
  @ApiProperty({ type: 'integer', nullable: true, example: 1 }) schemaVersion!: number | null;
  @ApiProperty({ type: 'integer', nullable: true, example: 5 }) attempts!: number | null;
  @ApiProperty({ example: 'ApplicationError: Order-0b6d... is at version 0, event 2 skips a version' })
  error!: string;
  @ApiProperty({ type: String, nullable: true, example: '2026-12-07T19:00:00.000Z' }) failedAt!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'The dead letter this one was a redrive of' })
  redriveOf!: string | null;
}

class RedrivenToDto {
  @ApiProperty({ example: 'orders.order' }) topic!: string;
  @ApiProperty({ type: 'integer', example: 0 }) partition!: number;
  @ApiProperty({ example: '57' }) offset!: string;
}

export class HandledRecordDto {
  @ApiProperty({ example: REF_EXAMPLE }) ref!: string;
  @ApiProperty({ enum: ['redriven', 'discarded'] }) action!: 'redriven' | 'discarded';
  @ApiProperty({ example: '2026-12-07T19:05:00.000Z' }) at!: string;
  @ApiProperty({ example: 'operator-1', description: "The token's subject (anonymous with AUTH_MODE=none)" })
  by!: string;
  @ApiPropertyOptional({ example: 'test message sent by hand' }) reason?: string;
  @ApiPropertyOptional({ type: RedrivenToDto }) redrivenTo?: RedrivenToDto;
}

export class DeadLetterDetailDto extends DeadLetterSummaryDto {
  @ApiProperty({ type: String, nullable: true, example: 'Order-0b6d...' }) key!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' }, example: { 'dlq-attempts': '5' } })
  headers!: Record<string, string>;
  @ApiProperty({ type: String, nullable: true, description: 'The message value as text (UTF-8)' })
  value!: string | null;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'The value parsed, when it is a JSON object (absent for a malformed one)',
  })
  payload?: Record<string, unknown>;
  @ApiPropertyOptional({ type: HandledRecordDto, description: 'What was done with it; absent while it waits' })
  handled?: HandledRecordDto;
}

class NotRedrivableDto {
  @ApiProperty({ example: REF_EXAMPLE }) ref!: string;
  @ApiProperty({ example: 'orders.order.dlq:0:42 cannot be redriven (discard it): Message value is not JSON' })
  reason!: string;
}

export class RedriveResultDto {
  @ApiProperty({ type: [HandledRecordDto] }) redriven!: HandledRecordDto[];
  @ApiProperty({ type: [NotRedrivableDto], description: 'With all: those left listed, to discard' })
  notRedrivable!: NotRedrivableDto[];
}

export class DiscardResultDto {
  @ApiProperty({ type: [HandledRecordDto] }) discarded!: HandledRecordDto[];
}
