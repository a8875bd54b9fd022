import { applyDecorators, createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import { ApiProblems } from '../api-responses.js';
import { ACCESS_METADATA, type AccessRule, type RequestWithPrincipal } from './access.guard.js';
import { ANONYMOUS, type Principal, type Role } from './principal.js';

/** Name of the bearer security scheme in the OpenAPI document (Swagger UI's "Authorize"). */
export const BEARER_SCHEME = 'bearer';

/**
 * The operation needs a verified token (with AUTH_MODE=jwt): any customer may call it, and the handler
 * limits it to the caller's own data through `@CurrentPrincipal()` (see `ownCustomerOf`).
 */
export const Authenticated = () =>
  applyDecorators(
    SetMetadata(ACCESS_METADATA, { roles: [] } satisfies AccessRule),
    ApiBearerAuth(BEARER_SCHEME),
    ApiProblems({ 401: ['UNAUTHENTICATED', 'TOKEN_INVALID'] }),
  );

/** The operation needs a verified token carrying one of `roles` (`admin` always passes); 403 otherwise. */
export const RequireRoles = (...roles: Role[]) =>
  applyDecorators(
    SetMetadata(ACCESS_METADATA, { roles } satisfies AccessRule),
    ApiBearerAuth(BEARER_SCHEME),
    ApiProblems({ 401: ['UNAUTHENTICATED', 'TOKEN_INVALID'], 403: ['FORBIDDEN'] }),
  );

/** The caller of the request, as the AccessGuard verified it (`anonymous` with AUTH_MODE=none). */
export const CurrentPrincipal = createParamDecorator(
  (_: unknown, context: ExecutionContext): Principal =>
    context.switchToHttp().getRequest<RequestWithPrincipal>().principal ?? ANONYMOUS,
);
