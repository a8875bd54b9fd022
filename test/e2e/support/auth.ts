import { SignJWT } from 'jose';
import type { Env } from './app.js';

// Tokens for apps started with AUTH_MODE=jwt (HS256 with a test secret), and the variants of the
// suites that run with authentication on.

export const TEST_JWT = {
  secret: 'e2e-only-secret-of-at-least-32-bytes!',
  issuer: 'https://issuer.test',
  audience: 'cqrs-starter-api',
} as const;

/** Environment of an app that authenticates bearer JWTs signed with TEST_JWT.secret. */
export const jwtAuthEnv = (): Env => ({
  AUTH_MODE: 'jwt',
  AUTH_JWT_SECRET: TEST_JWT.secret,
  AUTH_JWT_ISSUER: TEST_JWT.issuer,
  AUTH_JWT_AUDIENCE: TEST_JWT.audience,
});

export interface TokenOptions {
  readonly roles?: readonly string[];
  /** Seconds from now; negative: already expired. */
  readonly expiresInSec?: number;
  readonly secret?: string;
  readonly audience?: string;
  readonly issuer?: string;
}

/** A signed HS256 token for `sub` (the customer id). */
export const tokenFor = (sub: string, options: TokenOptions = {}): Promise<string> => {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ roles: [...(options.roles ?? [])] })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuer(options.issuer ?? TEST_JWT.issuer)
    .setAudience(options.audience ?? TEST_JWT.audience)
    .setIssuedAt(now - 5)
    .setExpirationTime(now + (options.expiresInSec ?? 600))
    .sign(new TextEncoder().encode(options.secret ?? TEST_JWT.secret));
};

export const bearer = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` });
