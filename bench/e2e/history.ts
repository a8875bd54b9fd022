// History for the "cost does not grow with stored events" comparison: fills a service's event store container
// with settled order streams (tip + events in the event store's own document format, no outbox entry: events
// relayed long ago), so that a run measures the same load on a container that already holds `events` events.
import { randomUUID } from 'node:crypto';
import type { CosmosClient, JSONObject, OperationInput } from '@azure/cosmos';
import { eventDocumentId, tipBody, tipDocumentId, type EventDocument, type TipDocument } from '@app/event-sourcing';
import { createEventContainer, orderEvents } from '../lib/fixtures.js';
import { forEachConcurrent } from '../lib/stats.js';

/** Events per history stream: one batch (tip + events) per stream, well under the 100-operation limit. */
const EVENTS_PER_STREAM = 10;

export const writeHistory = async (
  client: CosmosClient,
  databaseId: string,
  containerId: string,
  events: number,
): Promise<{ streams: number; events: number; ms: number }> => {
  const started = Date.now();
  const container = await createEventContainer(client, databaseId, containerId);
  const streams = Math.ceil(events / EVENTS_PER_STREAM);
  await forEachConcurrent(
    Array.from({ length: streams }, () => randomUUID()),
    8,
    async (orderId) => {
      const streamId = `Order-${orderId}`;
      const appended = orderEvents(orderId, EVENTS_PER_STREAM);
      const tip: TipDocument = {
        id: tipDocumentId,
        streamId,
        kind: 'tip',
        version: appended.length,
        updatedAt: new Date().toISOString(),
      };
      const operations: OperationInput[] = [
        { operationType: 'Create', partitionKey: streamId, resourceBody: tipBody(tip) },
        ...appended.map((event, i): OperationInput => {
          const document: EventDocument = {
            id: eventDocumentId(i + 1),
            streamId,
            kind: 'event',
            version: i + 1,
            type: event.type,
            schemaVersion: event.schemaVersion,
            data: event.data,
            metadata: event.metadata,
          };
          // Event data is JSON by contract, as in the event store's own batch.
          return { operationType: 'Create', partitionKey: streamId, resourceBody: document as unknown as JSONObject };
        }),
      ];
      const response = await container.items.batch(operations, streamId);
      const failed = response.result?.find((r) => r.statusCode >= 400);
      if (failed) throw new Error(`history batch of ${streamId}: ${failed.statusCode}`);
    },
  );
  return { streams, events: streams * EVENTS_PER_STREAM, ms: Date.now() - started };
};
