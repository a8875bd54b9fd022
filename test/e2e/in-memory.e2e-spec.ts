import { inMemoryStore } from './support/app.js';
import { describeOrderingApi } from './support/ordering-api.suite.js';

// The monolith with no configuration: in-memory event store and read models (the embedded default).
describeOrderingApi(inMemoryStore);
