// The services a shape of the end-to-end benchmark runs, and their surroundings: which apps (the registry of
// contexts for the services shapes, read with the registry's own checks from scripts/contexts.mjs), the
// environment each gets (its own databases, topics and consumer groups), the products the orders need, and
// the cleanup of all of it at the end.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { benchEnv, mongodbUrlFor, repoRoot, runId } from '../lib/env.js';
import { benchCosmosClient, dropCosmosDatabase } from '../lib/fixtures.js';
import { forEachConcurrent, sleep } from '../lib/stats.js';
import { overKafka, type Shape } from './settings.js';

/**
 * The `kafka-history` shape runs a second set of services beside the one on the filled stores: the same
 * shape on empty stores, measured in windows interleaved with it, so that the comparison does not depend
 * on what else the (shared) machine did before or after.
 */
export const EMPTY_TWIN = 'kafka-history-empty';

/** Every context of contexts.json, in its order (the first creates the topics the others consume). */
export const registryContexts = async (): Promise<string[]> => {
  const registry = (await import(pathToFileURL(resolve(repoRoot, 'scripts', 'contexts.mjs')).href)) as {
    readRegistry: () => { name: string }[];
  };
  return registry.readRegistry().map((context) => context.name);
};

/** The apps a shape runs: [service name, app folder under dist/apps]. */
export const appsOf = async (shape: Shape): Promise<[string, string][]> => {
  if (shape === 'monolith') return [['monolith', 'monolith']];
  const names = shape === 'kafka' ? ['orders', 'inventory'] : await registryContexts();
  return names.map((name) => [name, name]);
};

/** Names of a shape's databases and topics; `scope` is the shape or its empty twin. */
export const names = (scope: string) => {
  const id = `${runId}_${scope}`;
  return { database: `bench_e2e_${id}`, topicPrefix: `bench-e2e-${id}.` };
};

export const groupOf = (scope: string, service: string): string => `${service}-bench-e2e-${runId}-${scope}`;

export const serviceEnv = (shape: Shape, service: string, scope: string = shape): Record<string, string> => {
  const { database, topicPrefix } = names(scope);
  return {
    PATH: process.env.PATH ?? '',
    ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
    EVENT_STORE: 'cosmos',
    COSMOS_ENDPOINT: benchEnv.cosmosEndpoint,
    COSMOS_KEY: benchEnv.cosmosKey,
    ...(benchEnv.cosmosCaFile ? { COSMOS_CA_FILE: benchEnv.cosmosCaFile } : {}),
    COSMOS_DATABASE: database,
    MONGODB_URL: mongodbUrlFor(database),
    READ_YOUR_WRITES_TIMEOUT_MS: '10000',
    LOG_LEVEL: 'warn',
    // The load generator is one client address: the rate limit would measure itself, not the event path.
    RATE_LIMIT_MAX: '0',
    // OTEL_* (tracing on vs off) and HTTP_* (admission control, body limits) reach the services.
    ...Object.fromEntries(
      Object.entries(process.env).filter(([name]) => name.startsWith('OTEL_') || name.startsWith('HTTP_')),
    ),
    ...(overKafka(shape)
      ? {
          EVENT_TRANSPORT: 'kafka',
          KAFKA_BROKERS: benchEnv.kafkaBrokers.join(','),
          KAFKA_TOPIC_PREFIX: topicPrefix,
          // Own consumer groups: no rebalance with anything else running on the broker.
          KAFKA_GROUP_ID: groupOf(scope, service),
          KAFKA_CLIENT_ID: groupOf(scope, service),
        }
      : { EVENT_TRANSPORT: 'inprocess' }),
  };
};

export const registerProducts = async (inventoryUrl: string, skus: readonly string[]): Promise<void> => {
  await forEachConcurrent(skus, 16, async (sku) => {
    for (let attempt = 1; ; attempt++) {
      const response = await fetch(`${inventoryUrl}/products`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sku, name: `bench ${sku}`, initialStock: 100_000_000 }),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await response.text();
      if (response.status === 201) return;
      // Shed by admission control (the services are still busy): wait as told, as a client should.
      const retryAfter = response.status === 503 ? Number(response.headers.get('retry-after')) : Number.NaN;
      if (retryAfter > 0 && attempt < 60) {
        await sleep(retryAfter * 1000);
        continue;
      }
      if (attempt >= 3 || response.status < 500) throw new Error(`register ${sku}: ${response.status} ${text}`);
      await sleep(500);
    }
  });
};

/** Drops this run's databases and topics; failures are only logged (cleanup must not hide the figures). */
export const cleanup = async (shape: Shape, log: (line: string) => void): Promise<void> => {
  if (shape === 'kafka-history') await cleanupScope(shape, EMPTY_TWIN, log);
  await cleanupScope(shape, shape, log);
};

const cleanupScope = async (shape: Shape, scope: string, log: (line: string) => void): Promise<void> => {
  const { database, topicPrefix } = names(scope);
  await dropCosmosDatabase(benchCosmosClient(), database);
  const mongo = new MongoClient(benchEnv.mongodbUrl, { serverSelectionTimeoutMS: 5_000 });
  try {
    await mongo.db(database).dropDatabase();
  } catch (error) {
    log(`cleanup: mongo ${database}: ${(error as Error).message}`);
  } finally {
    await mongo.close().catch(() => undefined);
  }
  if (!overKafka(shape)) return;
  const admin = new Kafka({ brokers: benchEnv.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  try {
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(topicPrefix));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 });
  } catch (error) {
    log(`cleanup: kafka topics ${topicPrefix}*: ${(error as Error).message}`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
};
