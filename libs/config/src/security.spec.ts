import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './app-config.js';

const defaults = { port: 3000, service: 'monolith' };
const SECRET = 'a-development-secret-of-32-bytes!!';
const JWKS = {
  AUTH_JWKS_URL: 'https://id.example/.well-known/jwks.json',
  AUTH_JWT_ISSUER: 'https://id.example/tenant-1/v2.0',
  AUTH_JWT_AUDIENCE: 'api://orders',
};

const problemsOf = (env: Record<string, string>): readonly string[] => {
  try {
    loadConfig(env, defaults);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
};

const pemFile = (): string => {
  const file = join(mkdtempSync(join(tmpdir(), 'pem-')), 'ca.pem');
  writeFileSync(file, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  return file;
};

describe('the security configuration', () => {
  describe('with no variables', () => {
    it('runs without authentication, with Swagger, the rate limit and the wait cap on, and plaintext transports', () => {
      const { security, readModels, transport } = loadConfig({}, defaults);
      expect(security).toEqual({
        auth: { mode: 'none' },
        http: { corsOrigins: [], swaggerEnabled: true, rateLimit: { limit: 1_000, windowMs: 10_000 } },
      });
      expect(readModels).toMatchObject({ store: { kind: 'memory' }, maxConcurrentWaits: 1_000 });
      expect(transport).toEqual({ kind: 'inprocess' });
    });

    it('turns Swagger off in production unless asked for', () => {
      const production = { NODE_ENV: 'production', AUTH_MODE: 'jwt', ...JWKS };
      expect(loadConfig(production, defaults).security.http.swaggerEnabled).toBe(false);
      expect(loadConfig({ ...production, SWAGGER_ENABLED: 'true' }, defaults).security.http.swaggerEnabled).toBe(true);
    });
  });

  describe('AUTH_MODE=jwt', () => {
    it('takes an HS256 secret with issuer, audience and clock tolerance', () => {
      const env = {
        AUTH_MODE: 'jwt',
        AUTH_JWT_SECRET: SECRET,
        AUTH_JWT_ISSUER: 'https://id.example',
        AUTH_JWT_AUDIENCE: 'api',
        AUTH_CLOCK_TOLERANCE_SEC: '5',
      };
      expect(loadConfig(env, defaults).security.auth).toEqual({
        mode: 'jwt',
        secret: SECRET,
        issuer: 'https://id.example',
        audience: 'api',
        clockToleranceSec: 5,
      });
    });

    it('takes a JWKS URL instead, with its issuer and audience and a default clock tolerance of 30 s', () => {
      expect(loadConfig({ AUTH_MODE: 'jwt', ...JWKS }, defaults).security.auth).toEqual({
        mode: 'jwt',
        jwksUrl: 'https://id.example/.well-known/jwks.json',
        issuer: 'https://id.example/tenant-1/v2.0',
        audience: 'api://orders',
        clockToleranceSec: 30,
      });
    });

    it.each([
      [{ AUTH_MODE: 'jwt' }, 'AUTH_MODE=jwt needs AUTH_JWT_SECRET (HS256) or AUTH_JWKS_URL'],
      [{ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: 'short' }, 'AUTH_JWT_SECRET must be at least 32 bytes'],
      [
        { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, AUTH_JWKS_URL: 'https://id.example/jwks' },
        'AUTH_JWT_SECRET and AUTH_JWKS_URL exclude each other',
      ],
      [{ AUTH_MODE: 'jwt', ...JWKS, AUTH_JWKS_URL: 'ftp://id.example/jwks' }, 'AUTH_JWKS_URL must be an https URL'],
      [{ AUTH_MODE: 'jwt', ...JWKS, AUTH_JWKS_URL: 'http://id.example/jwks' }, 'AUTH_JWKS_URL must be an https URL'],
      [{ AUTH_MODE: 'jwt', ...JWKS, AUTH_JWT_ISSUER: '' }, 'AUTH_JWKS_URL needs AUTH_JWT_ISSUER: set it to'],
      [{ AUTH_MODE: 'jwt', ...JWKS, AUTH_JWT_AUDIENCE: '' }, 'AUTH_JWKS_URL needs AUTH_JWT_AUDIENCE: set it to'],
      [{ NODE_ENV: 'production' }, 'AUTH_MODE=none is refused under NODE_ENV=production: set AUTH_MODE=jwt'],
      [{ NODE_ENV: 'production', AUTH_MODE: 'none' }, 'AUTH_ALLOW_NONE_IN_PRODUCTION=true to run an open API'],
      [{ NODE_ENV: 'production', AUTH_ALLOW_NONE_IN_PRODUCTION: 'yes' }, 'AUTH_ALLOW_NONE_IN_PRODUCTION must be true'],
      [{ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, AUTH_CLOCK_TOLERANCE_SEC: '3600' }, 'AUTH_CLOCK_TOLERANCE_SEC'],
      [{ AUTH_MODE: 'basic' }, 'AUTH_MODE must be one of none, jwt'],
    ])('refuses %j', (env, problem) => {
      expect(problemsOf(env).join('\n')).toContain(problem);
    });

    it('runs an open API under NODE_ENV=production only when AUTH_ALLOW_NONE_IN_PRODUCTION=true says so', () => {
      expect(problemsOf({ NODE_ENV: 'production', AUTH_ALLOW_NONE_IN_PRODUCTION: 'true' })).toEqual([]);
      expect(problemsOf({ NODE_ENV: 'development' })).toEqual([]);
    });

    it('reports each problem in one line that names the setting', () => {
      for (const env of [
        { AUTH_MODE: 'jwt', AUTH_JWKS_URL: 'http://id.example/jwks' } as Record<string, string>,
        { NODE_ENV: 'production' },
      ]) {
        for (const problem of problemsOf(env)) expect(problem).toMatch(/^[^\n]*AUTH_[A-Z_]+[^\n]*$/);
      }
    });

    it('never repeats the secret in a problem', () => {
      const problems = problemsOf({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: 'tiny-secret', AUTH_JWKS_URL: 'x' });
      expect(problems.length).toBeGreaterThan(0);
      expect(problems.join('\n')).not.toContain('tiny-secret');
    });
  });

  describe('HTTP safe defaults', () => {
    it('takes CORS origins, a rate limit (0: off) and a wait cap', () => {
      const config = loadConfig(
        {
          CORS_ORIGINS: 'https://shop.example, http://localhost:5173',
          RATE_LIMIT_MAX: '0',
          RATE_LIMIT_WINDOW_MS: '1000',
          READ_YOUR_WRITES_MAX_WAITS: '50',
        },
        defaults,
      );
      const { http } = config.security;
      const { maxConcurrentWaits } = config.readModels;
      expect(http.corsOrigins).toEqual(['https://shop.example', 'http://localhost:5173']);
      expect(http.rateLimit).toEqual({ limit: 0, windowMs: 1000 });
      expect(maxConcurrentWaits).toBe(50);
    });

    it('refuses origins that are not origins', () => {
      expect(problemsOf({ CORS_ORIGINS: 'https://shop.example/path' })).toEqual([
        'CORS_ORIGINS entries must be origins like https://app.example.com or * (got "https://shop.example/path")',
      ]);
      expect(problemsOf({ SWAGGER_ENABLED: 'yes' })).toEqual(['SWAGGER_ENABLED must be true or false (got "yes")']);
    });
  });

  describe('Kafka transport security', () => {
    it('turns TLS on with a CA file, and takes SASL SCRAM credentials', () => {
      const ca = pemFile();
      const config = loadConfig(
        {
          EVENT_TRANSPORT: 'kafka',
          KAFKA_BROKERS: 'broker:9093',
          KAFKA_SSL_CA_FILE: ca,
          KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
          KAFKA_SASL_USERNAME: 'orders',
          KAFKA_SASL_PASSWORD: 'p4ss',
        },
        defaults,
      );
      expect(config.transport).toMatchObject({
        kind: 'kafka',
        ssl: { caFile: ca, rejectUnauthorized: true },
        sasl: { mechanism: 'scram-sha-512', username: 'orders', password: 'p4ss' },
      });
    });

    it('takes KAFKA_SSL=true alone (public CAs) and PLAIN over it', () => {
      const config = loadConfig(
        {
          EVENT_TRANSPORT: 'kafka',
          KAFKA_BROKERS: 'broker:9093',
          KAFKA_SSL: 'true',
          KAFKA_SASL_MECHANISM: 'plain',
          KAFKA_SASL_USERNAME: '$ConnectionString',
          KAFKA_SASL_PASSWORD: 'Endpoint=sb://x/;SharedAccessKey=y',
        },
        defaults,
      );
      expect(config.transport).toMatchObject({ ssl: { rejectUnauthorized: true }, sasl: { mechanism: 'plain' } });
    });

    it.each([
      [{ KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }, 'must be one of plain'],
      [{ KAFKA_SASL_MECHANISM: 'plain' }, 'needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD'],
      [{ KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }, 'need KAFKA_SASL_MECHANISM'],
      [{ KAFKA_SSL_CA_FILE: '/no/such/ca.pem' }, 'KAFKA_SSL_CA_FILE /no/such/ca.pem does not exist'],
      [{ KAFKA_SSL_CERT_FILE: pemFile() }, 'KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together'],
    ])('refuses %j', (env, problem) => {
      expect(problemsOf(env).join('\n')).toContain(problem);
    });

    it('never repeats the SASL password in a problem', () => {
      const problems = problemsOf({ KAFKA_SASL_MECHANISM: 'kerberos', KAFKA_SASL_PASSWORD: 'hunter2' });
      expect(problems.join('\n')).not.toContain('hunter2');
    });
  });

  describe('MongoDB TLS', () => {
    it('passes the CA file to the read-model store', () => {
      const ca = pemFile();
      expect(
        loadConfig({ MONGODB_URL: 'mongodb://db:27017/readmodels', MONGODB_TLS_CA_FILE: ca }, defaults).readModels
          .store,
      ).toEqual({ kind: 'mongo', url: 'mongodb://db:27017/readmodels', tlsCaFile: ca });
    });
  });

  describe('Cosmos DB', () => {
    it('uses Microsoft Entra ID when no key is given', () => {
      const { store } = loadConfig(
        { COSMOS_ENDPOINT: 'https://account.documents.azure.com:443/' },
        defaults,
      ).eventSourcing;
      expect(store).toMatchObject({ kind: 'cosmos', endpoint: 'https://account.documents.azure.com:443/' });
      expect((store as { key?: string }).key).toBeUndefined();
    });

    it('allows plain http to loopback only, unless COSMOS_ALLOW_INSECURE_HTTP=true', () => {
      expect(() => loadConfig({ COSMOS_ENDPOINT: 'http://127.0.0.1:8081', COSMOS_KEY: 'k' }, defaults)).not.toThrow();
      expect(() => loadConfig({ COSMOS_ENDPOINT: 'http://localhost:8081', COSMOS_KEY: 'k' }, defaults)).not.toThrow();
      expect(() => loadConfig({ COSMOS_ENDPOINT: 'http://cosmos:8081', COSMOS_KEY: 'k' }, defaults)).toThrow(
        /COSMOS_ENDPOINT uses plain http to a host that is not loopback/,
      );
      expect(() =>
        loadConfig(
          { COSMOS_ENDPOINT: 'http://cosmos:8081', COSMOS_KEY: 'k', COSMOS_ALLOW_INSECURE_HTTP: 'true' },
          defaults,
        ),
      ).not.toThrow();
    });

    it('never prints the password of a URL it refuses', () => {
      expect(() =>
        loadConfig({ MONGODB_URL: 'mongodb://reader:s3cr3t@db:27017/ x', COSMOS_ENDPOINT: 'ftp://u:pw@x' }, defaults),
      ).toThrow(expect.objectContaining({ message: expect.not.stringMatching(/s3cr3t|:pw@/) }));
      // A URL's value is never echoed at all (it may carry credentials), only what is wrong with it.
      expect(() => loadConfig({ MONGODB_URL: 'mongodb://reader:s3cr3t@db:27017/ x' }, defaults)).toThrow(
        /MONGODB_URL must be a mongodb:\/\/ URL$/m,
      );
    });

    it('reports security problems together with the others', () => {
      try {
        loadConfig({ PORT: 'x', AUTH_MODE: 'jwt' }, defaults);
        throw new Error('no ConfigError');
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).problems).toHaveLength(2);
      }
    });
  });
});
