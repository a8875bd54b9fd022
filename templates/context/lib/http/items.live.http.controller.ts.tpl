import { Controller, Get, Param, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiProblems, CurrentPrincipal, LiveConnections, LiveFeedOperation, type Principal } from '@app/http';
import { LiveFeeds, type LiveFeed } from '@app/read-models';
import { __itemCamel__NotFound } from '../domain/__context__.errors.js';
import { __Item__ViewProjection } from '../application/__item__-view/__item__-view.projection.js';
import type { __Item__View } from '../application/__item__-view/__item__-view.read-model.js';
import { idParam, idPipe } from './__item__s.http.controller.js';

/** Live feed of a __item__ (Server-Sent Events): its state, then each change. See docs/live-feeds.md. */
@ApiTags('__context__: queries')
@Controller('__item__s')
export class __Item__sLiveController {
  readonly #feed: LiveFeed<__Item__View>;

  constructor(
    private readonly connections: LiveConnections,
    feeds: LiveFeeds,
    projection: __Item__ViewProjection,
  ) {
    this.#feed = feeds.of(projection);
  }

  @Get(':id/live')
  @idParam
  @ApiOperation({ summary: 'Live: one __item__, its current state and then each change' })
  @LiveFeedOperation('The __item__, then each change of it')
  @ApiProblems({ 400: ['MALFORMED_URL'], 404: ['__ITEM___NOT_FOUND'] })
  follow(
    @Param('id', idPipe) id: string,
    @Req() req: Request,
    @Res() res: Response,
    @CurrentPrincipal() principal: Principal,
  ): Promise<void> {
    return this.connections.serveDocument(req, res, principal, this.#feed, {
      id,
      notFound: () => __itemCamel__NotFound(id),
    });
  }
}
