import { cosmosStore } from './support/app.js';
import { describeOrderingApi } from './support/ordering-api.suite.js';

// The monolith on the Cosmos DB event store: COSMOS_ENDPOINT / COSMOS_KEY come from
// test/setup/cosmos-global-setup.ts (an in-process cosmosdb-server unless set already). Each app built
// by the suite gets a database of its own, so runs never collide.
const { COSMOS_ENDPOINT: endpoint, COSMOS_KEY: key } = process.env;
if (!endpoint || !key) throw new Error('COSMOS_ENDPOINT and COSMOS_KEY must be set (the jest global setup sets them)');

describeOrderingApi(cosmosStore(endpoint, key));
