import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { LIVE_APP_HTML } from './live-app.page.js';
import { LIVE_APP_SCRIPT } from './live-app.script.js';

/** The live page (see live-app.page.ts), served by every app: the monolith and each service. */
@ApiExcludeController()
@Controller('app')
export class LiveAppController {
  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  page(): string {
    return LIVE_APP_HTML;
  }

  @Get('app.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  script(): string {
    return LIVE_APP_SCRIPT;
  }
}
