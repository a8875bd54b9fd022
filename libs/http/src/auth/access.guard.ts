import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { AuthSettings } from '@app/config';
import { HttpProblem } from '../problem-details.filter.js';
import { InvalidTokenError, JwtVerifier } from './jwt-verifier.js';
import { ANONYMOUS, hasAnyRole, type Principal, type Role } from './principal.js';

export const AUTH_SETTINGS = Symbol('AUTH_SETTINGS');
export const ACCESS_METADATA = 'app:access';

/** What an operation asks of its caller (set by `@Authenticated()` / `@RequireRoles()`); absent: public. */
export interface AccessRule {
  /** Any of these roles (admin always passes); empty: any verified token. */
  readonly roles: readonly Role[];
  /**
   * Live feeds (EventSource cannot send headers): the token may also come in the LIVE_TOKEN_COOKIE cookie,
   * which `POST /live/session` sets (HttpOnly, SameSite=Strict). Only GET feeds accept it: a cookie that
   * is sent automatically must never authorise a change (cross-site request forgery).
   */
  readonly cookie?: boolean;
}

/** The cookie carrying the bearer token for live feeds. */
export const LIVE_TOKEN_COOKIE = 'live_token';

/** The value of one cookie of a request (express parses none without a middleware this API does not need). */
export const cookieOf = (request: Request, name: string): string | undefined => {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
};

export type RequestWithPrincipal = Request & { principal?: Principal };

const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*)$/i;
const REALM = 'Bearer realm="api"';

/**
 * The HTTP edge's authentication and role check, for every route of the app (registered as a global
 * guard by HttpSecurityModule). With AUTH_MODE=none every request is `anonymous` and passes. With
 * AUTH_MODE=jwt, a route with an access rule needs a valid bearer token (401 otherwise) and, when the
 * rule names roles, one of them (403). Ownership (a customer's own orders) is decided by the handler
 * from the principal the guard attached to the request.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  readonly #verifier: JwtVerifier | undefined;

  constructor(
    private readonly reflector: Reflector,
    @Inject(AUTH_SETTINGS) settings: AuthSettings,
  ) {
    this.#verifier = settings.mode === 'jwt' ? new JwtVerifier(settings) : undefined;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true; // event consumers: payloads are checked against contracts
    const request = context.switchToHttp().getRequest<RequestWithPrincipal>();
    request.principal = ANONYMOUS;
    const rule = this.reflector.getAllAndOverride<AccessRule | undefined>(ACCESS_METADATA, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!this.#verifier || !rule) return true;

    const cookie = rule.cookie && request.method === 'GET' ? cookieOf(request, LIVE_TOKEN_COOKIE) : undefined;
    const header = request.headers.authorization ?? (cookie ? `Bearer ${cookie}` : undefined);
    if (!header) {
      throw new HttpProblem(
        'UNAUTHENTICATED',
        401,
        'This operation needs a bearer token (Authorization: Bearer <JWT>)',
        {
          'WWW-Authenticate': REALM,
        },
      );
    }
    const token = BEARER.exec(header)?.[1];
    let principal: Principal;
    try {
      if (!token) throw new InvalidTokenError('the Authorization header is not "Bearer <JWT>"');
      principal = await this.#verifier.verify(token);
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
      throw new HttpProblem('TOKEN_INVALID', 401, `The bearer token was refused: ${error.message}`, {
        'WWW-Authenticate': `${REALM}, error="invalid_token", error_description="${error.message.replaceAll('"', "'")}"`,
      });
    }
    if (rule.roles.length > 0 && !hasAnyRole(principal, rule.roles)) {
      throw new HttpProblem(
        'FORBIDDEN',
        403,
        `This operation needs one of the roles: ${[...rule.roles, 'admin'].join(', ')}`,
      );
    }
    request.principal = principal;
    return true;
  }
}
