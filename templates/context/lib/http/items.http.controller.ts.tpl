import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { newAggregateId, type CommandContext } from '@app/event-sourcing';
import {
  ApiCommandProblems,
  Authenticated,
  ApiQueryProblems,
  ClientGone,
  CommandAcceptedDto,
  MinVersionQueryDto,
  RequestContext,
  RequestValidationError,
} from '@app/http';
import { Close__Item__Command } from '../application/close-__item__/close-__item__.command.js';
import { Get__Item__Query } from '../application/__item__-view/get-__item__.query.js';
import { List__Item__sQuery } from '../application/__item__-view/list-__item__s.query.js';
import { Open__Item__Command } from '../application/open-__item__/open-__item__.command.js';
import { Open__Item__RequestDto } from './__item__.request.dto.js';
import { List__Item__sQueryDto, __Item__PageView, __Item__View } from './__item__.response.dto.js';

/** Ids are the UUIDs `POST /__item__s` hands out: random, or derived from an Idempotency-Key. */
export const idPipe = new ParseUUIDPipe({
  exceptionFactory: () => new RequestValidationError([{ field: 'id', message: 'id must be a UUID' }]),
});

export const idParam = ApiParam({
  name: 'id',
  description: 'The __item__ id `POST /__item__s` answered',
  schema: { type: 'string', format: 'uuid', example: '1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b' },
});

/** Commands: the write side (APP_ROLE command or all). */
@ApiTags('__context__: commands')
@Controller('__item__s')
export class __Item__sCommandsController {
  constructor(private readonly commands: CommandBus) {}

  @Post()
  @ApiOperation({ summary: 'Open a __item__ (it starts OPEN)' })
  @ApiCreatedResponse({ type: CommandAcceptedDto, description: '__Item__ opened: its new id and stream version' })
  @ApiCommandProblems({})
  @Authenticated() // AUTH_MODE=jwt: any verified token; @RequireRoles(ROLES.operator) for staff only
  open(@Body() body: Open__Item__RequestDto, @RequestContext() context: CommandContext) {
    return this.commands.execute(new Open__Item__Command(newAggregateId(context), body.title, context));
  }

  @Post(':id/close')
  @HttpCode(200)
  @idParam
  @ApiOperation({ summary: 'Close an open __item__' })
  @ApiOkResponse({ type: CommandAcceptedDto, description: '__Item__ closed: its id and new stream version' })
  @ApiCommandProblems({ 400: ['MALFORMED_URL'], 404: ['__ITEM___NOT_FOUND'], 409: ['__ITEM___ALREADY_CLOSED'] })
  @Authenticated()
  close(@Param('id', idPipe) id: string, @RequestContext() context: CommandContext) {
    return this.commands.execute(new Close__Item__Command(id, context));
  }
}

/** Queries: the read side (APP_ROLE query or all). */
@ApiTags('__context__: queries')
@Controller('__item__s')
export class __Item__sQueriesController {
  constructor(private readonly queries: QueryBus) {}

  @Get(':id')
  @idParam
  @ApiOperation({ summary: 'One __item__, as projected from its events' })
  @ApiOkResponse({ type: __Item__View, description: 'The __item__ (at least at `minVersion` when given)' })
  @ApiQueryProblems({
    400: ['MALFORMED_URL'],
    404: ['__ITEM___NOT_FOUND'],
    503: ['READ_MODEL_BEHIND', 'TOO_MANY_WAITS'],
  })
  @Authenticated()
  get(@Param('id', idPipe) id: string, @Query() query: MinVersionQueryDto, @ClientGone() clientGone: AbortSignal) {
    return this.queries.execute(new Get__Item__Query(id, query.minVersion, clientGone));
  }

  @Get()
  @ApiOperation({ summary: '__Item__s, newest first, filtered by status, paginated by cursor' })
  @ApiOkResponse({ type: __Item__PageView, description: 'One page of __item__s, newest first' })
  @ApiQueryProblems({ 400: ['CURSOR_INVALID'] })
  @Authenticated()
  list(@Query() query: List__Item__sQueryDto) {
    return this.queries.execute(new List__Item__sQuery({ status: query.status }, query.limit ?? 20, query.cursor));
  }
}
