import type { Server } from 'node:http';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { loadConfig } from '@app/config';
import { createHttpApp } from '@app/platform';
import { monolith } from '../../../apps/monolith/src/monolith.app.js';
import { bearer, jwtAuthEnv, tokenFor } from './auth.js';
import { request, requestWithoutDocument, setDefaultHeaders } from './openapi-contract.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface RunningApp {
  readonly app: NestExpressApplication;
  /** Pass to supertest's `request(...)`. */
  readonly server: Server;
  close(): Promise<void>;
}

/**
 * The monolith as `main.ts` builds it, on the given environment, initialised but not listening. It logs
 * errors only (LOG_LEVEL=error unless `env` says otherwise): the warnings the suites provoke on purpose
 * (503s, embedded mode) stay out of the test output, a 500's stack trace does not. The rate limit is
 * off (RATE_LIMIT_MAX=0) unless `env` sets it: the suites send more per second than any client should; so is
 * admission control by settle lag (HTTP_SHED_SETTLE_LAG_MS=0), which a busy test machine would trip over Kafka.
 * With AUTH_MODE=jwt, every request of `request(server)` carries an admin token unless it sets its own.
 */
export const startMonolith = async (env: Env): Promise<RunningApp> => {
  const config = loadConfig(
    { LOG_LEVEL: 'error', RATE_LIMIT_MAX: '0', HTTP_SHED_SETTLE_LAG_MS: '0', ...env },
    { port: 0, service: monolith.service },
  );
  const app = await createHttpApp(monolith, config);
  await app.init();
  const server = app.getHttpServer() as Server;
  if (config.security.auth.mode === 'jwt')
    setDefaultHeaders(server, bearer(await tokenFor('e2e-admin', { roles: ['admin'], expiresInSec: 3_600 })));
  await untilReady(server, config.security.http.swaggerEnabled ? request : requestWithoutDocument);
  return { app, server, close: () => app.close() };
};

/** Waits for /health/ready, as a deployment would before routing traffic (a Kafka consumer joins its group). */
const untilReady = async (
  server: Server,
  client: typeof request | typeof requestWithoutDocument,
  timeoutMs = 30_000,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await client(server).get('/health/ready');
    if (response.status === 200) return;
    if (Date.now() > deadline) throw new Error(`App not ready after ${timeoutMs} ms: ${response.text}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

/** One event-store configuration the shared suite runs against. */
export interface StoreVariant {
  readonly name: string;
  /** Environment of an app on this store; `extra` adds variables. Each call may isolate its own data. */
  env(extra?: Env): Env;
  /**
   * A short READ_YOUR_WRITES_TIMEOUT_MS that this stack still meets for a version that does arrive
   * (default 200 ms; an asynchronous transport such as Kafka needs more).
   */
  readonly shortReadYourWritesTimeoutMs?: number;
}

/** The same store with AUTH_MODE=jwt: the suites then run as an admin (see startMonolith). */
export const withJwtAuth = (variant: StoreVariant): StoreVariant => ({
  ...variant,
  name: `${variant.name} with AUTH_MODE=jwt`,
  env: (extra = {}) => variant.env({ ...jwtAuthEnv(), ...extra }),
});

export const inMemoryStore: StoreVariant = {
  name: 'in-memory event store',
  env: (extra = {}) => ({ ...extra }),
};

/**
 * The Cosmos event store on the server test/setup/cosmos-global-setup.ts started (or COSMOS_ENDPOINT).
 * Every app gets its own database, so apps (and runs) never see each other's streams or outboxes.
 */
export const cosmosStore = (endpoint: string, key: string): StoreVariant => ({
  name: 'Cosmos DB event store',
  env: (extra = {}) => ({
    COSMOS_ENDPOINT: endpoint,
    COSMOS_KEY: key,
    COSMOS_DATABASE: `e2e-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`,
    COSMOS_CONTAINER: 'events',
    ...(process.env.COSMOS_CA_FILE ? { COSMOS_CA_FILE: process.env.COSMOS_CA_FILE } : {}),
    ...extra,
  }),
});
