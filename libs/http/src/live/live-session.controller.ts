import { Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiNoContentResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Authenticated } from '../auth/access.decorators.js';
import { LIVE_TOKEN_COOKIE } from '../auth/access.guard.js';

/** Seconds until the token's `exp` (already verified by the guard); the cookie dies with the token. */
const secondsLeft = (token: string): number | undefined => {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      exp?: unknown;
    };
    return typeof payload.exp === 'number' ? Math.max(0, Math.floor(payload.exp - Date.now() / 1000)) : undefined;
  } catch {
    return undefined;
  }
};

/**
 * EventSource cannot send an Authorization header. A page that holds a token calls `POST /live/session`
 * with it once; the answer sets the token as an HttpOnly, SameSite=Strict cookie (Secure over HTTPS) that
 * the browser then sends with every live feed request, reconnections included. Only live feeds (GET)
 * accept the cookie. See docs/live-feeds.md for why a cookie rather than a ticket in the URL.
 */
@ApiTags('live feeds')
@Controller('live/session')
export class LiveSessionController {
  @Post()
  @HttpCode(204)
  @Authenticated()
  @ApiOperation({ summary: 'Let this browser open live feeds: sets the `live_token` cookie from the bearer token' })
  @ApiNoContentResponse({ description: 'Cookie set (nothing to set with AUTH_MODE=none)' })
  open(@Req() req: Request, @Res({ passthrough: true }) res: Response): void {
    const token = /^Bearer +(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return;
    res.cookie(LIVE_TOKEN_COOKIE, token, {
      httpOnly: true,
      sameSite: 'strict',
      secure: req.secure,
      path: '/',
      ...(secondsLeft(token) !== undefined ? { maxAge: secondsLeft(token)! * 1000 } : {}),
    });
  }
}
