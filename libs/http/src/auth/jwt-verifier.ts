import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey, type JWTPayload } from 'jose';
import type { AuthSettings } from '@app/config';
import type { Principal } from './principal.js';

type JwtSettings = Extract<AuthSettings, { mode: 'jwt' }>;

/** The token is missing, malformed, expired, not yet valid, badly signed or for someone else. */
export class InvalidTokenError extends Error {
  override readonly name = 'InvalidTokenError';
}

/** How long fetched keys are trusted before the JWKS is fetched again; an unknown `kid` refetches sooner. */
const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;
/** At most one refetch per this interval for unknown key ids (a flood of forged `kid`s fetches nothing). */
const JWKS_COOLDOWN_MS = 30_000;
const JWKS_TIMEOUT_MS = 5_000;

/**
 * Verifies bearer JWTs with `jose`: HS256 with the shared secret, or RS256/ES256 with the keys of a
 * JWKS URL (cached; a token signed by a rotated-in key makes it refetch). `exp` and `sub` are required,
 * issuer and audience checked when configured, clock skew bounded by `clockToleranceSec`.
 */
export class JwtVerifier {
  readonly #key: Uint8Array | JWTVerifyGetKey;
  readonly #algorithms: string[];

  constructor(
    private readonly settings: JwtSettings,
    /** Tests shorten the refetch cooldown to see a rotation at once. */
    { jwksCooldownMs = JWKS_COOLDOWN_MS }: { jwksCooldownMs?: number } = {},
  ) {
    if (settings.secret !== undefined) {
      this.#key = new TextEncoder().encode(settings.secret);
      this.#algorithms = ['HS256'];
    } else if (settings.jwksUrl !== undefined) {
      this.#key = createRemoteJWKSet(new URL(settings.jwksUrl), {
        cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
        cooldownDuration: jwksCooldownMs,
        timeoutDuration: JWKS_TIMEOUT_MS,
      });
      this.#algorithms = ['RS256', 'ES256'];
    } else {
      throw new Error('AUTH_MODE=jwt needs AUTH_JWT_SECRET or AUTH_JWKS_URL');
    }
  }

  async verify(token: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#key as Uint8Array, {
        algorithms: this.#algorithms,
        clockTolerance: this.settings.clockToleranceSec,
        requiredClaims: ['sub', 'exp'],
        ...(this.settings.issuer !== undefined ? { issuer: this.settings.issuer } : {}),
        ...(this.settings.audience !== undefined ? { audience: this.settings.audience } : {}),
      }));
    } catch (error) {
      throw new InvalidTokenError(describe(error));
    }
    const roles = payload.roles ?? [];
    if (!Array.isArray(roles) || !roles.every((role) => typeof role === 'string'))
      throw new InvalidTokenError('the "roles" claim must be an array of strings');
    if (typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 128)
      throw new InvalidTokenError('the "sub" claim must be a string of 1 to 128 characters');
    return { kind: 'user', sub: payload.sub, roles };
  }
}

/** What a client may learn about why its token was refused (never key material). */
const describe = (error: unknown): string => {
  if (error instanceof errors.JWTExpired) return 'the token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `claim "${error.claim}" is invalid: ${error.reason}`;
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the token signature is invalid';
  if (error instanceof errors.JWKSNoMatchingKey) return 'no key of the issuer matches the token';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'the token algorithm is not accepted';
  if (error instanceof errors.JWKSTimeout || (error as { code?: string })?.code === 'ERR_JOSE_GENERIC')
    return 'the signing keys could not be fetched';
  if (error instanceof errors.JOSEError) return 'the token is malformed';
  return 'the token could not be verified';
};
