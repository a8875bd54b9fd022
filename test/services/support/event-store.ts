// Reads the services' Cosmos DB event stores directly (not through the app): tips, events, outbox entries.
import { CosmosClient, type Database } from '@azure/cosmos';
import { cosmosAgent, infraEnv } from '../../infra/infra-env.js';

export interface StoredEvent {
  readonly streamId: string;
  readonly version: number;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: Record<string, any>;
  readonly metadata: Record<string, any>;
}

export interface StoredStream {
  /** Version in the tip document; undefined when the stream does not exist. */
  readonly tipVersion: number | undefined;
  /** Event documents, by version. */
  readonly events: StoredEvent[];
  /** Outbox entries the relay has not removed yet. */
  readonly outbox: number;
}

export class EventStoreReader {
  readonly #agent = cosmosAgent();
  readonly #client = new CosmosClient({
    endpoint: infraEnv.cosmosEndpoint,
    key: infraEnv.cosmosKey,
    agent: this.#agent,
    connectionPolicy: { enableEndpointDiscovery: false },
  });
  readonly #database: Database;

  constructor(databaseId: string) {
    this.#database = this.#client.database(databaseId);
  }

  async stream(containerId: string, streamId: string): Promise<StoredStream> {
    const { resources } = await this.#database
      .container(containerId)
      .items.query<Record<string, any>>(
        { query: 'SELECT * FROM c WHERE c.streamId = @s', parameters: [{ name: '@s', value: streamId }] },
        { partitionKey: streamId },
      )
      .fetchAll();
    const tip = resources.find((doc) => doc.kind === 'tip');
    const events = resources
      .filter((doc) => doc.kind === 'event')
      .map(({ streamId: id, version, type, schemaVersion, data, metadata }) => ({
        streamId: id,
        version,
        type,
        schemaVersion,
        data,
        metadata,
      }))
      .sort((a, b) => a.version - b.version);
    return { tipVersion: tip?.version, events, outbox: resources.filter((doc) => doc.kind === 'outbox').length };
  }

  close(): void {
    this.#client.dispose();
    this.#agent?.destroy();
  }
}
