// Cosmos DB API started by `npm run infra:up` (@vercel/cosmosdb-server over HTTPS with our own
// self-signed certificate), exercised with @azure/cosmos. The certificate is trusted through
// COSMOS_CA_FILE for this client only (https.Agent `ca`), never by disabling TLS checks.
import { jest } from '@jest/globals';
import { CosmosClient, type Container, type Database, type OperationInput } from '@azure/cosmos';
import { cosmosAgent, infraEnv, runId } from './infra-env.js';

jest.setTimeout(30_000);

interface EventDoc {
  id: string;
  streamId: string;
  version: number;
  type: string;
}

describe('Cosmos DB API (@azure/cosmos)', () => {
  const agent = cosmosAgent();
  const client = new CosmosClient({
    endpoint: infraEnv.cosmosEndpoint,
    key: infraEnv.cosmosKey,
    agent,
    connectionPolicy: { enableEndpointDiscovery: false },
  });
  let database: Database;
  let container: Container;

  afterAll(async () => {
    await database?.delete().catch(() => undefined);
    client.dispose();
    agent?.destroy();
  });

  it('answers getDatabaseAccount over TLS verified against COSMOS_CA_FILE', async () => {
    const { resource } = await client.getDatabaseAccount();
    expect(resource).toBeDefined();
  });

  it('rejects the server certificate without the CA (TLS verification is on)', async () => {
    if (!infraEnv.cosmosEndpoint.startsWith('https:') || !agent) return; // plain-HTTP emulator: nothing to check
    const untrusting = new CosmosClient({
      endpoint: infraEnv.cosmosEndpoint,
      key: infraEnv.cosmosKey,
      connectionPolicy: {
        enableEndpointDiscovery: false,
        retryOptions: { maxRetryAttemptCount: 0, fixedRetryIntervalInMilliseconds: 0, maxWaitTimeInSeconds: 1 },
      },
    });
    try {
      const err = (await untrusting.getDatabaseAccount().catch((e: unknown) => e)) as {
        code?: string;
        message?: string;
      };
      expect(`${err.code} ${err.message}`).toMatch(/SELF_SIGNED|self[- ]signed|UNABLE_TO_VERIFY|certificate/i);
    } finally {
      untrusting.dispose();
    }
  });

  it('creates a database and a container partitioned by /streamId', async () => {
    ({ database } = await client.databases.createIfNotExists({ id: `infra-spec-${runId}` }));
    ({ container } = await database.containers.createIfNotExists({
      id: 'events',
      partitionKey: { paths: ['/streamId'] },
    }));
    const { resource } = await container.read();
    expect(resource?.partitionKey?.paths).toEqual(['/streamId']);
  });

  it('commits a transactional batch as a whole', async () => {
    const streamId = `order-${runId}`;
    // cosmosdb-server needs partitionKey on every operation; the real service accepts it too.
    const ops: OperationInput[] = [1, 2].map((version) => ({
      operationType: 'Create',
      partitionKey: streamId,
      resourceBody: { id: `${streamId}-${version}`, streamId, version, type: 'OrderPlaced' },
    }));
    const res = await container.items.batch(ops, streamId);
    expect(res.result?.map((r) => r.statusCode)).toEqual([201, 201]);

    const { resources } = await container.items
      .query<EventDoc>(
        {
          query: 'SELECT * FROM c WHERE c.streamId = @s ORDER BY c.version',
          parameters: [{ name: '@s', value: streamId }],
        },
        { partitionKey: streamId },
      )
      .fetchAll();
    expect(resources.map((d) => d.version)).toEqual([1, 2]);
  });

  it('fails a stale batch as a whole: 412 on the stale op, 424 on the others, nothing written', async () => {
    const streamId = `stock-${runId}`;
    const head = { id: `${streamId}-head`, streamId, version: 1, type: 'StreamHead' };
    const { resource: created, etag: staleEtag } = await container.items.create(head);
    expect(staleEtag ?? created?._etag).toBeTruthy();
    const oldEtag = (staleEtag ?? created!._etag) as string;

    // someone else moves the stream head on: our etag is now stale
    const { etag: freshEtag } = await container.item(head.id, streamId).replace({ ...head, version: 2 });
    expect(freshEtag).not.toBe(oldEtag);

    const res = await container.items.batch(
      [
        {
          operationType: 'Replace',
          id: head.id,
          partitionKey: streamId,
          ifMatch: oldEtag,
          resourceBody: { ...head, version: 3 },
        },
        {
          operationType: 'Create',
          partitionKey: streamId,
          resourceBody: { id: `${streamId}-3`, streamId, version: 3, type: 'StockReserved' },
        },
      ],
      streamId,
    );
    const statuses = res.result?.map((r) => r.statusCode);
    if (statuses?.[0] !== 412 && (await isVNextEmulator())) {
      // Documented gap of the vNext Linux emulator (docker compose): it ignores ifMatch inside
      // transactional batches. The event store does not rely on it; record and stop here.
      console.warn(
        `Cosmos vNext emulator ignored ifMatch in a batch (statuses ${JSON.stringify(statuses)}): known emulator gap`,
      );
      return;
    }
    expect(statuses).toEqual([412, 424]);

    const absent = await container.item(`${streamId}-3`, streamId).read();
    expect(absent.statusCode).toBe(404);
    const { resource: current } = await container.item(head.id, streamId).read<EventDoc>();
    expect(current?.version).toBe(2);
  });
});

/** The vNext Linux emulator answers readiness on port 8080 of its host; cosmosdb-server does not. */
async function isVNextEmulator(): Promise<boolean> {
  try {
    const res = await fetch(`http://${new URL(infraEnv.cosmosEndpoint).hostname}:8080/ready`, {
      signal: AbortSignal.timeout(1000),
    });
    return res.ok;
  } catch {
    return false;
  }
}
