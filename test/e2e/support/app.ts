import type { Server } from 'node:http';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { loadConfig } from '@app/config';
import { createHttpApp } from '@app/platform';
import { monolith } from '../../../apps/monolith/src/monolith.app.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface RunningApp {
  readonly app: NestExpressApplication;
  /** Pass to supertest's `request(...)`. */
  readonly server: Server;
  close(): Promise<void>;
}

/** The monolith as `main.ts` builds it, on the given environment, initialised but not listening. */
export const startMonolith = async (env: Env): Promise<RunningApp> => {
  const app = await createHttpApp(monolith, loadConfig(env, { port: 0, service: monolith.service }));
  app.useLogger(['error', 'warn']);
  await app.init();
  return { app, server: app.getHttpServer() as Server, close: () => app.close() };
};

/** One event-store configuration the shared suite runs against. */
export interface StoreVariant {
  readonly name: string;
  /** Environment of an app on this store; `extra` adds variables. Each call may isolate its own data. */
  env(extra?: Env): Env;
}

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
