// The full stack of one test file: environment of each service process (own Cosmos database, MongoDB database
// and Kafka consumer groups per run), and where their consumer groups start on the shared topics.
import { resolve } from 'node:path';
import { infraEnv, mongodbUrlFor, runId } from '../../infra/infra-env.js';
import { EventStoreReader } from './event-store.js';
import type { Deployment } from './flows.js';
import { HttpApi } from './http.js';
import { commitGroupOffsets, topicEnds, waitGroupCaughtUp, type TopicEnds } from './kafka.js';
import type { ProcessEnv, ServiceProcess } from './processes.js';

const repositoryRoot = resolve(import.meta.dirname, '..', '..', '..');

/**
 * SERVICES_REPLAY=1: fresh consumer groups start at the beginning of the shared topics (the services' default,
 * `fromBeginning`), replaying whatever earlier runs left there, and the suite reports how long that took.
 * Default: the groups start at the topics' current end, so a run only sees its own events (a replay costs
 * minutes once the topics hold a few hundred answers about other runs' orders, and republishes answers itself).
 */
export const REPLAY = process.env.SERVICES_REPLAY === '1';

/** Names of this run's databases and consumer groups. */
export const stackRun = `svc-${runId}`;
export const groupOf = (service: string): string => `${service}-${stackRun}`;

/** Environment of one service process: the full stack on the local servers, JSON logs, this run's names. */
export const serviceEnv = (service: string, extra: ProcessEnv = {}): ProcessEnv => {
  const https = infraEnv.cosmosEndpoint.startsWith('https:');
  return {
    PATH: process.env.PATH ?? '',
    ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
    EVENT_TRANSPORT: 'kafka',
    // The suites load one address far beyond any client's share; the limit itself has its own e2e test.
    RATE_LIMIT_MAX: '0',
    // Likewise admission control by settle lag: on a busy test machine it would shed the suites' bursts (its own
    // test, test/reliability/overload.reliability-spec.ts, turns it on).
    HTTP_SHED_SETTLE_LAG_MS: '0',
    KAFKA_BROKERS: infraEnv.kafkaBrokers.join(','),
    KAFKA_GROUP_ID: groupOf(service),
    KAFKA_CLIENT_ID: groupOf(service),
    COSMOS_ENDPOINT: infraEnv.cosmosEndpoint,
    COSMOS_KEY: infraEnv.cosmosKey,
    ...(https ? { COSMOS_CA_FILE: resolve(repositoryRoot, infraEnv.cosmosCaFile) } : {}),
    COSMOS_DATABASE: stackRun,
    MONGODB_URL: mongodbUrlFor(stackRun),
    LOG_FORMAT: 'json',
    ...extra,
  };
};

/** Snapshots the topic ends and (unless REPLAY) makes the services' new groups start there. */
export const prepareGroups = async (services: readonly string[]): Promise<TopicEnds> => {
  const ends = await topicEnds();
  if (!REPLAY) await commitGroupOffsets(services.map(groupOf), ends);
  return ends;
};

/** In REPLAY mode: waits until the services consumed the history, and prints how long it took. */
export const reportReplay = async (services: readonly string[], ends: TopicEnds, since: number): Promise<void> => {
  if (!REPLAY) return;
  const backlog = Object.entries(ends)
    .map(([topic, partitions]) => `${topic} ${partitions.reduce((sum, p) => sum + Number(p.offset), 0)}`)
    .join(', ');
  for (const service of services) {
    await waitGroupCaughtUp(groupOf(service), ends, 600_000);
    console.log(`replay: ${service} consumed the topics' history (${backlog}) in ${Date.now() - since} ms`);
  }
};

/** The deployment of this run's orders and inventory processes: their HTTP APIs and their event stores. */
export const deploymentOf = (orders: ServiceProcess, inventory: ServiceProcess): Deployment => ({
  ordersApi: new HttpApi(orders.url),
  inventoryApi: new HttpApi(inventory.url),
  store: new EventStoreReader(stackRun),
  ordersContainer: 'orders-events',
  inventoryContainer: 'inventory-events',
});
