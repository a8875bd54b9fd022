import { z } from 'zod';
import { boolean, integer, oneOf } from './variables.js';

/** How HTTP callers are authenticated (docs/security.md). */
export type AuthSettings =
  | { readonly mode: 'none' }
  | {
      readonly mode: 'jwt';
      /** HS256 shared secret (development, tests); exclusive with `jwksUrl`. */
      readonly secret?: string;
      /** JSON Web Key Set of the identity provider (RS256/ES256), fetched and cached, refetched for unknown keys. */
      readonly jwksUrl?: string;
      readonly issuer?: string;
      readonly audience?: string;
      /** Accepted clock difference for `exp`/`nbf`/`iat`, seconds. */
      readonly clockToleranceSec: number;
    };

const ISSUER_HINT = "identity provider's issuer (the tokens' iss)";
const AUDIENCE_HINT = "audience this API's tokens carry (aud)";

/** Authentication of HTTP callers: none (the default outside production), or bearer JWTs. */
export const authEnv = z
  .object({
    NODE_ENV: z.string().optional(),
    AUTH_MODE: oneOf(['none', 'jwt']).default('none'),
    AUTH_ALLOW_NONE_IN_PRODUCTION: boolean().default(false),
    // RFC 7518 3.2: an HS256 key has at least as many bits as the hash.
    AUTH_JWT_SECRET: z
      .string()
      .refine((secret) => Buffer.byteLength(secret) >= 32, 'must be at least 32 bytes (HS256 needs a 256-bit key)')
      .optional(),
    // Keys fetched over plain http can be swapped on the way.
    AUTH_JWKS_URL: z.url({ protocol: /^https$/, error: 'must be an https URL' }).optional(),
    AUTH_JWT_ISSUER: z.string().optional(),
    AUTH_JWT_AUDIENCE: z.string().optional(),
    AUTH_CLOCK_TOLERANCE_SEC: integer(0, 300).default(30),
  })
  .superRefine((env, ctx) => {
    const problem = (message: string) => ctx.addIssue({ code: 'custom', message });
    if (env.AUTH_MODE === 'none') {
      // An open API in production is a decision someone writes down, not a default one forgets to change.
      if (env.NODE_ENV === 'production' && !env.AUTH_ALLOW_NONE_IN_PRODUCTION)
        problem(
          'AUTH_MODE=none is refused under NODE_ENV=production: set AUTH_MODE=jwt (AUTH_JWKS_URL, AUTH_JWT_ISSUER, ' +
            'AUTH_JWT_AUDIENCE), or AUTH_ALLOW_NONE_IN_PRODUCTION=true to run an open API on purpose',
        );
      return;
    }
    // Without an expected issuer and audience any token the identity provider signs (any tenant of a
    // multi-tenant one, any application) would be accepted.
    if (env.AUTH_JWKS_URL !== undefined) {
      if (env.AUTH_JWT_ISSUER === undefined)
        problem(`AUTH_JWKS_URL needs AUTH_JWT_ISSUER: set it to the ${ISSUER_HINT}`);
      if (env.AUTH_JWT_AUDIENCE === undefined)
        problem(`AUTH_JWKS_URL needs AUTH_JWT_AUDIENCE: set it to the ${AUDIENCE_HINT}`);
    }
    if (env.AUTH_JWT_SECRET === undefined && env.AUTH_JWKS_URL === undefined)
      problem('AUTH_MODE=jwt needs AUTH_JWT_SECRET (HS256) or AUTH_JWKS_URL (RS256/ES256)');
    if (env.AUTH_JWT_SECRET !== undefined && env.AUTH_JWKS_URL !== undefined)
      problem('AUTH_JWT_SECRET and AUTH_JWKS_URL exclude each other: set one');
  })
  .transform((env): AuthSettings =>
    env.AUTH_MODE === 'none'
      ? { mode: 'none' }
      : {
          mode: 'jwt',
          ...(env.AUTH_JWT_SECRET !== undefined ? { secret: env.AUTH_JWT_SECRET } : {}),
          ...(env.AUTH_JWKS_URL !== undefined ? { jwksUrl: env.AUTH_JWKS_URL } : {}),
          ...(env.AUTH_JWT_ISSUER !== undefined ? { issuer: env.AUTH_JWT_ISSUER } : {}),
          ...(env.AUTH_JWT_AUDIENCE !== undefined ? { audience: env.AUTH_JWT_AUDIENCE } : {}),
          clockToleranceSec: env.AUTH_CLOCK_TOLERANCE_SEC,
        },
  );
