// Two interleaved copies of ReserveStock for one order over the Cosmos DB event store: the decision's
// append is the transactional batch on the reservation's tip (create, or replace if-match), so of two
// copies exactly one decides. COSMOS_ENDPOINT / COSMOS_KEY come from test/setup/cosmos-global-setup.ts;
// COSMOS_CA_FILE: PEM to trust for an HTTPS server (`npm run infra:up`: .infra/cosmos/cert.pem).
import { randomUUID } from 'node:crypto';
import type { CosmosClient } from '@azure/cosmos';
import { createCosmosClient, CosmosEventStore } from '@app/event-sourcing';
import { reserveStockRaces } from '../../testing/reserve-stock.races.js';

let client: CosmosClient | undefined;
let store: CosmosEventStore | undefined;

afterAll(async () => {
  await store?.container.delete().catch(() => undefined);
  client?.dispose();
});

reserveStockRaces('Cosmos DB', async () => {
  client = createCosmosClient({
    endpoint: process.env.COSMOS_ENDPOINT!,
    key: process.env.COSMOS_KEY!,
    caFile: process.env.COSMOS_CA_FILE || undefined,
  });
  store = CosmosEventStore.fromClient(client, 'inventory-int-tests', `events-${randomUUID()}`);
  return store;
});
