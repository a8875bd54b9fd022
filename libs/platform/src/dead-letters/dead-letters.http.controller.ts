import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiProblems, CurrentPrincipal, RequestValidationError, RequireRoles, ROLES, type Principal } from '@app/http';
import { DeadLetterOperations, type Selection } from '@app/messaging';
import {
  DeadLetterDetailDto,
  DeadLettersQueryDto,
  DeadLetterSummaryDto,
  DiscardRequestDto,
  DiscardResultDto,
  RedriveRequestDto,
  RedriveResultDto,
} from './dead-letters.dto.js';

const TAG = 'operations: dead letters';

/** refs or `all: true`, exactly one of them. */
const selectionOf = ({ refs, all, topic }: RedriveRequestDto): Selection => {
  if (all === true && refs !== undefined) {
    throw new RequestValidationError([{ field: 'all', message: 'give refs or all: true, not both' }]);
  }
  if (all === true) return { all, ...(topic ? { topic } : {}) };
  if (refs === undefined) {
    throw new RequestValidationError([{ field: 'refs', message: 'give the refs of the dead letters, or all: true' }]);
  }
  return { refs, ...(topic ? { topic } : {}) };
};

const actorOf = (principal: Principal): string => (principal.kind === 'user' ? principal.sub : 'anonymous');

const COMMON = { 400: ['VALIDATION_FAILED'], 503: ['BROKER_UNAVAILABLE'] } as const;

/**
 * Dead letters of this service's consumer group, for operators (role `admin`): the same operations as
 * `npm run dlq`, on DeadLetterOperations. See docs/dead-letters.md.
 */
@ApiTags(TAG)
@Controller('admin/dead-letters')
@RequireRoles(ROLES.admin)
export class DeadLettersController {
  constructor(@Inject(DeadLetterOperations) private readonly operations: DeadLetterOperations) {}

  @Get()
  @ApiOperation({ summary: 'Dead letters not yet handled (redriven or discarded ones are not listed)' })
  @ApiOkResponse({
    type: [DeadLetterSummaryDto],
    description: 'The dead letters not yet handled, by topic, partition, offset',
  })
  @ApiProblems(COMMON)
  list(@Query() query: DeadLettersQueryDto) {
    return this.operations.list({ topic: query.topic });
  }

  @Get(':ref')
  @ApiOperation({ summary: 'One dead letter, with its headers, payload and what was done with it' })
  @ApiParam({ name: 'ref', description: 'As listed', schema: { type: 'string', example: 'orders.order.dlq:0:42' } })
  @ApiOkResponse({ type: DeadLetterDetailDto, description: 'The dead letter, handled or not' })
  @ApiProblems({ ...COMMON, 404: ['DEAD_LETTER_NOT_FOUND'] })
  show(@Param('ref') ref: string) {
    return this.operations.show(ref);
  }

  @Post('redrive')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Send dead letters back to their origin topic, upcast to the current schema, marked as a redrive',
  })
  @ApiOkResponse({ type: RedriveResultDto, description: 'What was redriven (and, with all, what was left)' })
  @ApiProblems({
    ...COMMON,
    404: ['DEAD_LETTER_NOT_FOUND'],
    409: ['DEAD_LETTER_HANDLED', 'DEAD_LETTER_NOT_REDRIVABLE'],
  })
  redrive(@Body() body: RedriveRequestDto, @CurrentPrincipal() principal: Principal) {
    return this.operations.redrive(selectionOf(body), actorOf(principal));
  }

  @Post('discard')
  @HttpCode(200)
  @ApiOperation({ summary: 'Mark dead letters as handled without redrive, recording the reason' })
  @ApiOkResponse({ type: DiscardResultDto, description: 'What was discarded' })
  @ApiProblems({ ...COMMON, 404: ['DEAD_LETTER_NOT_FOUND'], 409: ['DEAD_LETTER_HANDLED'] })
  async discard(@Body() body: DiscardRequestDto, @CurrentPrincipal() principal: Principal) {
    const { reason, ...selection } = body;
    return { discarded: await this.operations.discard(selectionOf(selection), reason, actorOf(principal)) };
  }
}
