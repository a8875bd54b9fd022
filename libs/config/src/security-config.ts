import { existsSync } from 'node:fs';
import type { TransportOptions } from '@app/messaging';

type Env = Readonly<Record<string, string | undefined>>;

/** How HTTP callers are authenticated (see README "Security"). */
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

/** Kafka TLS and SASL, as the Kafka transport takes them. */
export type KafkaSecurity = Pick<Extract<TransportOptions, { kind: 'kafka' }>, 'ssl' | 'sasl'>;

export interface SecurityConfig {
  readonly auth: AuthSettings;
  readonly http: {
    /** Origins allowed by CORS; empty: CORS is off (no CORS headers at all). */
    readonly corsOrigins: readonly string[];
    readonly swaggerEnabled: boolean;
    /** Requests per client IP per window; `limit` 0 turns the limit off. */
    readonly rateLimit: { readonly limit: number; readonly windowMs: number };
  };
  /** Concurrent `minVersion` waits one process keeps open; beyond it a query answers 503 at once. */
  readonly maxConcurrentWaits: number;
  readonly kafka: KafkaSecurity;
  /** TLS to MongoDB with a private CA (the url's `tls=true` or `mongodb+srv` turns TLS on as well). */
  readonly mongo: { readonly tlsCaFile?: string };
  readonly cosmos: {
    /** Allow `http://` to a host that is not loopback (never in production: the key would travel in clear). */
    readonly allowInsecureHttp: boolean;
  };
}

/**
 * The security part of the configuration: authentication, HTTP safe defaults, transport security.
 * Adds every problem to `problems` (the caller throws one ConfigError for all of them).
 */
export const loadSecurityConfig = (env: Env, problems: string[]): SecurityConfig => {
  const get = (name: string): string | undefined => (env[name] === '' ? undefined : env[name]);
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    if (raw === 'true' || raw === 'false') return raw === 'true';
    problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  };
  const file = (name: string): string | undefined => {
    const path = get(name);
    if (path !== undefined && !existsSync(path)) problems.push(`${name} ${path} does not exist`);
    return path;
  };
  const url = (name: string, protocols: readonly string[]): string | undefined => {
    const raw = get(name);
    if (raw === undefined) return undefined;
    try {
      if (protocols.includes(new URL(raw).protocol)) return raw;
    } catch {
      // reported below
    }
    problems.push(`${name} must be an ${protocols.map((p) => p.slice(0, -1)).join(' or ')} URL`);
    return undefined;
  };

  return {
    auth: loadAuth(env, problems, { get, int, url, bool }),
    http: {
      corsOrigins: (get('CORS_ORIGINS') ?? '')
        .split(',')
        .map((origin) => origin.trim())
        .filter((origin) => {
          if (!origin) return false;
          if (origin === '*' || /^https?:\/\/[^\s/]+$/.test(origin)) return true;
          problems.push(`CORS_ORIGINS entries must be origins like https://app.example.com or * (got "${origin}")`);
          return false;
        }),
      swaggerEnabled: bool('SWAGGER_ENABLED', (env.NODE_ENV ?? 'development') !== 'production'),
      rateLimit: {
        limit: int('RATE_LIMIT_MAX', 1_000, 0, 1_000_000),
        windowMs: int('RATE_LIMIT_WINDOW_MS', 10_000, 100, 3_600_000),
      },
    },
    maxConcurrentWaits: int('READ_YOUR_WRITES_MAX_WAITS', 1_000, 1, 1_000_000),
    kafka: loadKafkaSecurity(problems, { get, bool, file }),
    mongo: { tlsCaFile: file('MONGODB_TLS_CA_FILE') },
    cosmos: { allowInsecureHttp: bool('COSMOS_ALLOW_INSECURE_HTTP', false) },
  };
};

const loadAuth = (
  env: Env,
  problems: string[],
  {
    get,
    int,
    url,
    bool,
  }: {
    get: (name: string) => string | undefined;
    int: (name: string, fallback: number, min: number, max: number) => number;
    url: (name: string, protocols: readonly string[]) => string | undefined;
    bool: (name: string, fallback: boolean) => boolean;
  },
): AuthSettings => {
  const mode = get('AUTH_MODE') ?? 'none';
  if (mode !== 'none' && mode !== 'jwt') {
    problems.push(`AUTH_MODE must be one of none, jwt (got "${mode}")`);
    return { mode: 'none' };
  }
  if (mode === 'none') {
    // An open API in production is a decision someone writes down, not a default one forgets to change.
    const allowed = bool('AUTH_ALLOW_NONE_IN_PRODUCTION', false);
    if (env.NODE_ENV === 'production' && !allowed)
      problems.push(
        'AUTH_MODE=none is refused under NODE_ENV=production: set AUTH_MODE=jwt (AUTH_JWKS_URL, AUTH_JWT_ISSUER, ' +
          'AUTH_JWT_AUDIENCE), or AUTH_ALLOW_NONE_IN_PRODUCTION=true to run an open API on purpose',
      );
    return { mode };
  }
  const secret = get('AUTH_JWT_SECRET');
  // Keys fetched over plain http can be swapped on the way; and without an expected issuer and audience any
  // token the identity provider signs (any tenant of a multi-tenant one, any application) would be accepted.
  const jwksUrl = url('AUTH_JWKS_URL', ['https:']);
  if (env.AUTH_JWKS_URL) {
    for (const name of ['AUTH_JWT_ISSUER', 'AUTH_JWT_AUDIENCE']) {
      if (get(name) === undefined)
        problems.push(
          `AUTH_JWKS_URL needs ${name}: set it to the ${name === 'AUTH_JWT_ISSUER' ? "identity provider's issuer (the tokens' iss)" : "audience this API's tokens carry (aud)"}`,
        );
    }
  }
  if (secret === undefined && jwksUrl === undefined && env.AUTH_JWKS_URL === undefined)
    problems.push('AUTH_MODE=jwt needs AUTH_JWT_SECRET (HS256) or AUTH_JWKS_URL (RS256/ES256)');
  if (secret !== undefined && env.AUTH_JWKS_URL)
    problems.push('AUTH_JWT_SECRET and AUTH_JWKS_URL exclude each other: set one');
  // RFC 7518 3.2: an HS256 key has at least as many bits as the hash.
  if (secret !== undefined && Buffer.byteLength(secret) < 32)
    problems.push('AUTH_JWT_SECRET must be at least 32 bytes (HS256 needs a 256-bit key)');
  return {
    mode,
    ...(secret !== undefined ? { secret } : {}),
    ...(jwksUrl !== undefined ? { jwksUrl } : {}),
    ...(get('AUTH_JWT_ISSUER') !== undefined ? { issuer: get('AUTH_JWT_ISSUER') } : {}),
    ...(get('AUTH_JWT_AUDIENCE') !== undefined ? { audience: get('AUTH_JWT_AUDIENCE') } : {}),
    clockToleranceSec: int('AUTH_CLOCK_TOLERANCE_SEC', 30, 0, 300),
  };
};

const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

const loadKafkaSecurity = (
  problems: string[],
  {
    get,
    bool,
    file,
  }: {
    get: (name: string) => string | undefined;
    bool: (name: string, fallback: boolean) => boolean;
    file: (name: string) => string | undefined;
  },
): KafkaSecurity => {
  const caFile = file('KAFKA_SSL_CA_FILE');
  const certFile = file('KAFKA_SSL_CERT_FILE');
  const keyFile = file('KAFKA_SSL_KEY_FILE');
  if ((certFile === undefined) !== (keyFile === undefined))
    problems.push('KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together (a client certificate and its key)');
  const sslOn = bool('KAFKA_SSL', caFile !== undefined || certFile !== undefined);
  if (!sslOn && (caFile || certFile)) problems.push('KAFKA_SSL_* files are set but KAFKA_SSL=false');
  const rejectUnauthorized = !bool('KAFKA_SSL_INSECURE_SKIP_VERIFY', false);

  const rawMechanism = get('KAFKA_SASL_MECHANISM')?.toLowerCase();
  let sasl: KafkaSecurity['sasl'];
  if (rawMechanism !== undefined) {
    const mechanism = SASL_MECHANISMS.find((m) => m === rawMechanism);
    const username = get('KAFKA_SASL_USERNAME');
    const password = get('KAFKA_SASL_PASSWORD');
    if (!mechanism) problems.push(`KAFKA_SASL_MECHANISM must be one of ${SASL_MECHANISMS.join(', ')}`);
    if (username === undefined || password === undefined)
      problems.push('KAFKA_SASL_MECHANISM needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD');
    if (mechanism && username !== undefined && password !== undefined) sasl = { mechanism, username, password };
  } else if (get('KAFKA_SASL_USERNAME') !== undefined || get('KAFKA_SASL_PASSWORD') !== undefined) {
    problems.push('KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD need KAFKA_SASL_MECHANISM');
  }
  return {
    ...(sslOn ? { ssl: { caFile, certFile, keyFile, rejectUnauthorized } } : {}),
    ...(sasl ? { sasl } : {}),
  };
};
