import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiProblems, CurrentPrincipal, RequireRoles, ROLES, type Principal } from '@app/http';
import { DeadLetterOperations } from '@app/messaging';
import {
  DeadLetterDetailDto,
  DeadLettersQueryDto,
  DeadLetterSummaryDto,
  DiscardAllRequestDto,
  DiscardRequestDto,
  DiscardResultDto,
  REF_PARAM,
  RedriveAllRequestDto,
  RedriveRequestDto,
  RedriveResultDto,
} from './dead-letters.dto.js';

const actorOf = (principal: Principal): string => (principal.kind === 'user' ? principal.sub : 'anonymous');
const topicOnly = (topic: string | undefined) => (topic === undefined ? {} : { topic });

const COMMON = {
  400: ['VALIDATION_FAILED'],
  429: ['RATE_LIMITED'],
  431: ['HEADERS_TOO_LARGE'],
  503: ['BROKER_UNAVAILABLE'],
} as const;
/** What the edge answers to a request with a JSON body, besides COMMON. */
const WITH_BODY = {
  ...COMMON,
  400: ['VALIDATION_FAILED', 'MALFORMED_JSON', 'BAD_REQUEST_BODY'],
  413: ['PAYLOAD_TOO_LARGE'],
  415: ['UNSUPPORTED_MEDIA_TYPE'],
} as const;

/**
 * Dead letters of this application's consumer group, for operators (role `admin`): the operations of
 * `npm run dlq` over HTTP, on DeadLetterOperations (libs/messaging). See docs/dead-letters.md.
 */
@ApiTags('operations: dead letters')
@Controller('admin/dead-letters')
@RequireRoles(ROLES.admin)
export class DeadLettersController {
  constructor(@Inject(DeadLetterOperations) private readonly operations: DeadLetterOperations) {}

  @Get()
  @ApiOperation({ summary: 'Dead letters not yet handled (redriven or discarded ones are not listed)' })
  @ApiOkResponse({ type: [DeadLetterSummaryDto], description: 'By topic, partition and offset' })
  @ApiProblems(COMMON)
  list(@Query() query: DeadLettersQueryDto) {
    return this.operations.list(topicOnly(query.topic));
  }

  @Get(':ref')
  @ApiOperation({ summary: 'One dead letter, with its headers, value and what was done with it' })
  @ApiParam({ name: 'ref', description: 'As listed', schema: REF_PARAM })
  @ApiOkResponse({ type: DeadLetterDetailDto, description: 'The dead letter, handled or not' })
  @ApiProblems({ ...COMMON, 404: ['DEAD_LETTER_NOT_FOUND'] })
  show(@Param('ref') ref: string) {
    return this.operations.show(ref);
  }

  @Post('redrive')
  @HttpCode(200)
  @ApiOperation({ summary: 'Send dead letters back to their origin topic, upcast to the current schema' })
  @ApiOkResponse({ type: RedriveResultDto, description: 'Where each went' })
  @ApiProblems({
    ...WITH_BODY,
    404: ['DEAD_LETTER_NOT_FOUND'],
    409: ['DEAD_LETTER_HANDLED', 'DEAD_LETTER_NOT_REDRIVABLE'],
  })
  redrive(@Body() body: RedriveRequestDto, @CurrentPrincipal() principal: Principal) {
    return this.operations.redrive({ refs: body.refs }, actorOf(principal));
  }

  @Post('redrive-all')
  @HttpCode(200)
  @ApiOperation({ summary: 'Redrive every dead letter not yet handled (of one topic); malformed ones are left' })
  @ApiBody({ type: RedriveAllRequestDto, required: false })
  @ApiOkResponse({ type: RedriveResultDto, description: 'What was redriven, and what was left (to discard)' })
  @ApiProblems(WITH_BODY)
  redriveAll(@Body() body: RedriveAllRequestDto, @CurrentPrincipal() principal: Principal) {
    return this.operations.redrive({ all: true, ...topicOnly(body.topic) }, actorOf(principal));
  }

  @Post('discard')
  @HttpCode(200)
  @ApiOperation({ summary: 'Mark dead letters as handled without redrive, recording the reason' })
  @ApiOkResponse({ type: DiscardResultDto, description: 'What was discarded' })
  @ApiProblems({ ...WITH_BODY, 404: ['DEAD_LETTER_NOT_FOUND'], 409: ['DEAD_LETTER_HANDLED'] })
  async discard(@Body() body: DiscardRequestDto, @CurrentPrincipal() principal: Principal) {
    return { discarded: await this.operations.discard({ refs: body.refs }, body.reason, actorOf(principal)) };
  }

  @Post('discard-all')
  @HttpCode(200)
  @ApiOperation({ summary: 'Discard every dead letter not yet handled (of one topic), recording the reason' })
  @ApiOkResponse({ type: DiscardResultDto, description: 'What was discarded' })
  @ApiProblems(WITH_BODY)
  async discardAll(@Body() body: DiscardAllRequestDto, @CurrentPrincipal() principal: Principal) {
    const selection = { all: true as const, ...topicOnly(body.topic) };
    return { discarded: await this.operations.discard(selection, body.reason, actorOf(principal)) };
  }
}
