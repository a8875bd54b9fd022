import { cosmosStore } from './support/app.js';
import { describeOrderingApi } from './support/ordering-api.suite.js';

// The monolith on the Cosmos DB event store: COSMOS_ENDPOINT / COSMOS_KEY come from
// test/setup/cosmos-global-setup.ts (an in-process cosmosdb-server unless set already). Each app built
// by the suite gets a database of its own, so runs never collide.
const endpoint = process.env.COSMOS_ENDPOINT;
const key = process.env.COSMOS_KEY;

if (endpoint && key) {
  describeOrderingApi(cosmosStore(endpoint, key));
} else {
  describe.skip('the ordering API on the Cosmos DB event store (COSMOS_ENDPOINT is not set)', () => {
    it('needs a Cosmos DB endpoint', () => undefined);
  });
}
