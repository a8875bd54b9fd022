import { jest } from '@jest/globals';
import { fullStack } from './support/full-stack.js';
import { describeOrderingApi } from './support/ordering-api.suite.js';

// The same suite as on the embedded stores, on Cosmos DB + Kafka + MongoDB (see support/full-stack.ts).
jest.setTimeout(60_000);

describeOrderingApi(fullStack);
