// The OpenAPI document describes the server as configured: with AUTH_MODE=none no operation checks a
// token, so the document declares no security (a client or fuzzer reading it would otherwise send, and
// expect to need, an `Authorization` header the server ignores). The decorators declare the schemes
// once per operation; this removes them from the built document when authentication is off.
import type { OpenAPIObject } from '@nestjs/swagger';

/** Drops every operation's `security` and the document's security schemes (AUTH_MODE=none). */
export const withoutSecurity = (document: OpenAPIObject): void => {
  delete document.security;
  if (document.components) delete document.components.securitySchemes;
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item) as ({ security?: unknown } | undefined)[]) {
      if (operation && typeof operation === 'object') delete operation.security;
    }
  }
};
