// Jest globalTeardown of the `int` and `e2e` projects: stops the cosmosdb-server the setup started
// (nothing to do when the tests used an external server from COSMOS_ENDPOINT).
import type { Server } from 'node:http';

/** Same key as in cosmos-global-setup.ts (not imported: jest loads global hooks without the module mapper). */
const COSMOS_TEST_SERVER = Symbol.for('nest-cqrs-es-starter.cosmos-test-server');

type WithServer = typeof globalThis & { [COSMOS_TEST_SERVER]?: Server };

export default async function cosmosGlobalTeardown(): Promise<void> {
  const global = globalThis as WithServer;
  const server = global[COSMOS_TEST_SERVER];
  if (!server) return;
  delete global[COSMOS_TEST_SERVER];
  delete process.env.COSMOS_ENDPOINT;
  delete process.env.COSMOS_KEY;
  await new Promise<void>((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}
