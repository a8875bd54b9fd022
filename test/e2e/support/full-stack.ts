import { randomBytes } from 'node:crypto';
import { infraEnv } from '../../infra/infra-env.js';
import type { StoreVariant } from './app.js';

// The monolith on the full stack of `npm run infra:up`: events through the Cosmos-compatible server,
// delivered over Kafka (EVENT_TRANSPORT=kafka, the app consumes its own topics) into MongoDB read
// models on FerretDB - the same suite as on the embedded stores. Every app gets its own database,
// read-model database, topics and consumer group, so runs never see each other's state.
export const fullStack: StoreVariant = {
  name: 'full stack (Cosmos DB, Kafka, MongoDB)',
  shortReadYourWritesTimeoutMs: 2_000,
  env: (extra = {}) => {
    const run = `e2e${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
    return {
      EVENT_STORE: 'cosmos',
      COSMOS_ENDPOINT: infraEnv.cosmosEndpoint,
      COSMOS_KEY: infraEnv.cosmosKey,
      COSMOS_CA_FILE: infraEnv.cosmosEndpoint.startsWith('https:') ? infraEnv.cosmosCaFile : undefined,
      COSMOS_DATABASE: run,
      EVENT_TRANSPORT: 'kafka',
      KAFKA_BROKERS: infraEnv.kafkaBrokers.join(','),
      KAFKA_GROUP_ID: run,
      // Topics of its own: apps on other databases publish events this app's stores never saw.
      KAFKA_TOPIC_PREFIX: `${run}.`,
      READ_MODEL_STORE: 'mongo',
      MONGODB_URL: infraEnv.mongodbUrl.replace(/\/[^/?]*(\?|$)/, `/${run}$1`),
      ...extra,
    };
  },
};
