// Jest globalSetup of the `int` and `e2e` projects: gives the tests a Cosmos DB endpoint.
// With COSMOS_ENDPOINT already set (the emulator, `npm run infra:up`, a real account) that server is
// used as is. Otherwise an in-process @vercel/cosmosdb-server is started over plain HTTP on a free
// loopback port; the variables set here are inherited by the test workers, which start afterwards.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpServer } from '@vercel/cosmosdb-server';

/** The well-known key of the Cosmos DB emulator (public; cosmosdb-server accepts any key). */
export const COSMOS_EMULATOR_KEY =
  'C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==';

/** Where the server started here is kept for the teardown (same process as the setup). */
export const COSMOS_TEST_SERVER = Symbol.for('nest-cqrs-es-starter.cosmos-test-server');

type WithServer = typeof globalThis & { [COSMOS_TEST_SERVER]?: Server };

export default async function cosmosGlobalSetup(): Promise<void> {
  const global = globalThis as WithServer;
  // Already started by the other project of this run (int and e2e share this setup), or a real server.
  if (process.env.COSMOS_ENDPOINT || global[COSMOS_TEST_SERVER]) return;

  const server = createHttpServer({ keepAlive: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  global[COSMOS_TEST_SERVER] = server;
  const { port } = server.address() as AddressInfo;
  process.env.COSMOS_ENDPOINT = `http://127.0.0.1:${port}`;
  process.env.COSMOS_KEY = COSMOS_EMULATOR_KEY;
}
