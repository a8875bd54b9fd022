// A Product snapshot of state schema 1 after the deploy of schema 2, over the Cosmos DB event store.
// COSMOS_ENDPOINT / COSMOS_KEY come from test/setup/cosmos-global-setup.ts; COSMOS_CA_FILE: PEM to trust
// for an HTTPS server (`npm run infra:up`: .infra/cosmos/cert.pem).
import { randomUUID } from 'node:crypto';
import type { CosmosClient } from '@azure/cosmos';
import { createCosmosClient, CosmosEventStore } from '@app/event-sourcing';
import { productSnapshotUpgrade } from '../testing/product-snapshot-upgrade.js';

let client: CosmosClient | undefined;
let store: CosmosEventStore | undefined;

afterAll(async () => {
  await store?.container.delete().catch(() => undefined);
  client?.dispose();
});

productSnapshotUpgrade('Cosmos DB', async () => {
  client = createCosmosClient({
    endpoint: process.env.COSMOS_ENDPOINT!,
    key: process.env.COSMOS_KEY!,
    caFile: process.env.COSMOS_CA_FILE || undefined,
  });
  store = CosmosEventStore.fromClient(client, 'inventory-int-tests', `events-${randomUUID()}`);
  await store.init();
  return store;
});
