// Events and Cosmos helpers shared by the benchmarks.
import { randomUUID } from 'node:crypto';
import type { CosmosClient } from '@azure/cosmos';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { ORDER_CATEGORY } from '@app/contracts';
import { ensureKafkaTopics, kafkaTopicOf, type KafkaTransportOptions } from '@app/messaging';
import { COSMOS_EVENT_STORE_PARTITION_KEY, createCosmosClient, type EventToAppend } from '@app/event-sourcing';
import { benchEnv, runId } from './env.js';

/** A Cosmos client for the configured endpoint, through the event store's own factory (it trusts the CA). */
export const benchCosmosClient = (): CosmosClient =>
  createCosmosClient({ endpoint: benchEnv.cosmosEndpoint, key: benchEnv.cosmosKey, caFile: benchEnv.cosmosCaFile });

/** Creates a database and an event-store-shaped container (partitioned by /streamId). */
export const createEventContainer = async (client: CosmosClient, databaseId: string, containerId: string) => {
  const { database } = await client.databases.createIfNotExists({ id: databaseId });
  const { container } = await database.containers.createIfNotExists({
    id: containerId,
    partitionKey: { paths: [COSMOS_EVENT_STORE_PARTITION_KEY] },
  });
  return container;
};

/** Deletes a benchmark database, ignoring failures (cleanup must not hide the figures). */
export const dropCosmosDatabase = async (client: CosmosClient, databaseId: string): Promise<void> => {
  await client
    .database(databaseId)
    .delete()
    .catch(() => undefined);
};

const metadata = (orderId: string, at: string) => ({
  eventId: randomUUID(),
  correlationId: randomUUID(),
  causationId: `cmd-${orderId}`,
  occurredAt: at,
});

/**
 * The events of one order stream as the orders context writes them: OrderPlaced (two lines), then
 * OrderConfirmed, OrderCancelled, OrderConfirmed... (the projection's evolve accepts any order after OrderPlaced).
 */
export const orderEvents = (orderId: string, count: number): EventToAppend[] => {
  const at = new Date().toISOString();
  return Array.from({ length: count }, (_, i): EventToAppend => {
    if (i === 0) {
      return {
        type: 'OrderPlaced',
        schemaVersion: 1,
        data: {
          orderId,
          customerId: `customer-${orderId.slice(0, 8)}`,
          currency: 'EUR',
          lines: [
            { sku: 'APPLE-RED', quantity: 3, unitPrice: 0.5 },
            { sku: 'PEAR-GREEN', quantity: 2, unitPrice: 0.75 },
          ],
          total: 3,
          placedAt: at,
        },
        metadata: metadata(orderId, at),
      };
    }
    return i % 2 === 1
      ? {
          type: 'OrderConfirmed',
          schemaVersion: 1,
          data: { orderId, confirmedAt: at },
          metadata: metadata(orderId, at),
        }
      : {
          type: 'OrderCancelled',
          schemaVersion: 1,
          data: { orderId, reason: 'customer changed their mind', cancelledAt: at },
          metadata: metadata(orderId, at),
        };
  });
};

/** This run's Kafka transport options and its order topic, created (the relay benchmarks publish there). */
export const benchOrderTopic = async (): Promise<{ kafka: KafkaTransportOptions; topic: string }> => {
  const kafka: KafkaTransportOptions = {
    kind: 'kafka',
    brokers: benchEnv.kafkaBrokers,
    clientId: `bench-${runId}`,
    topicPrefix: `bench${runId}.`,
    groupId: `bench-${runId}`,
    partitions: 3,
    retentionMs: -1,
    handlerAttempts: 1,
    retryBaseDelayMs: 100,
  };
  const topic = kafkaTopicOf(kafka, ORDER_CATEGORY);
  await ensureKafkaTopics(kafka, [topic]);
  return { kafka, topic };
};

/** The raw kafkajs producer the relay is compared with: idempotent, one request in flight, like ours. */
export const rawBenchProducer = (kafka: KafkaTransportOptions): Producer =>
  new Kafka({ clientId: `bench-${runId}-raw`, brokers: [...kafka.brokers], logLevel: logLevel.WARN }).producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
