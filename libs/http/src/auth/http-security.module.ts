import { createHash } from 'node:crypto';
import { Injectable, Module, SetMetadata, type DynamicModule, type ExecutionContext } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { ThrottlerLimitDetail } from '@nestjs/throttler';
import type { AuthSettings } from '@app/config';
import { HttpProblem } from '../problem-details.filter.js';
import { AccessGuard, AUTH_SETTINGS } from './access.guard.js';

export interface HttpSecurityOptions {
  readonly auth: AuthSettings;
  /** Requests per client IP per window, over all routes; `limit` 0: no rate limit. */
  readonly rateLimit: { readonly limit: number; readonly windowMs: number };
}

const NO_RATE_LIMIT = 'app:no-rate-limit';

/** The routes of this controller (or this handler) never count against the rate limit (health probes). */
export const NoRateLimit = () => SetMetadata(NO_RATE_LIMIT, true);

/**
 * The HTTP edge's guards, in order: the rate limit (@nestjs/throttler, so floods of bad tokens are
 * limited too), then authentication and roles (AccessGuard). Import it once, in the application module.
 */
@Module({})
export class HttpSecurityModule {
  static async forRoot({ auth, rateLimit }: HttpSecurityOptions): Promise<DynamicModule> {
    const limited = rateLimit.limit > 0;
    return {
      module: HttpSecurityModule,
      imports: limited ? [await throttlerModule(rateLimit)] : [],
      providers: [
        { provide: AUTH_SETTINGS, useValue: auth },
        ...(limited ? [{ provide: APP_GUARD, useClass: await rateLimitGuard() }] : []),
        { provide: APP_GUARD, useClass: AccessGuard },
      ],
    };
  }
}

// @nestjs/throttler is CommonJS requiring the ESM @nestjs/common: loaded once the latter is, on demand.

const throttlerModule = async (rateLimit: HttpSecurityOptions['rateLimit']): Promise<DynamicModule> => {
  const { ThrottlerModule } = await import('@nestjs/throttler');
  return ThrottlerModule.forRoot({
    throttlers: [{ limit: rateLimit.limit, ttl: rateLimit.windowMs }],
    // One budget per client over all routes, not one per route.
    generateKey: (_context, tracker, name) => createHash('sha256').update(`${name}:${tracker}`).digest('hex'),
  });
};

const rateLimitGuard = async () => {
  const { ThrottlerGuard } = await import('@nestjs/throttler');

  /** Throttler's guard, answering 429 as this API's problem+json (the guard sets Retry-After). */
  @Injectable()
  class RateLimitGuard extends ThrottlerGuard {
    protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
      if (context.getType() !== 'http') return true;
      return this.reflector.getAllAndOverride<boolean>(NO_RATE_LIMIT, [context.getHandler(), context.getClass()]);
    }

    protected override async throwThrottlingException(
      _context: ExecutionContext,
      detail: ThrottlerLimitDetail,
    ): Promise<void> {
      throw new HttpProblem('RATE_LIMITED', 429, `Too many requests; retry after ${detail.timeToBlockExpire} s`);
    }
  }
  return RateLimitGuard;
};
