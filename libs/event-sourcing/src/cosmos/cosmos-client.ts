import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { CosmosClient, type ConnectionPolicy, type CosmosClientOptions, type PluginConfig } from '@azure/cosmos';
import { DefaultAzureCredential } from '@azure/identity';
import { isLoopbackHost } from '@app/core';

export interface CosmosClientSettings {
  readonly endpoint: string;
  /**
   * The account key. Without one the client authenticates with Microsoft Entra ID through
   * `DefaultAzureCredential` (managed identity, workload identity, environment or developer sign-in);
   * the identity needs a Cosmos DB data-plane role on the account.
   */
  readonly key?: string;
  /**
   * PEM file of a CA to trust for this client only (the emulator's or a local server's self-signed
   * certificate). TLS stays fully verified; nothing is changed process-wide.
   */
  readonly caFile?: string;
  /**
   * Follow the account's regional endpoints. Defaults to true for real accounts and false for local,
   * single-endpoint servers (plain HTTP, loopback host or a custom CA), which advertise endpoints that
   * are not reachable as given (cosmosdb-server advertises `https://` even when it serves HTTP).
   */
  readonly endpointDiscovery?: boolean;
  /**
   * SDK plugins, e.g. one that counts the requests (round-trip tests and benchmarks). @azure/cosmos 4.x
   * reads `plugins` from the client options although its typings hide it.
   */
  readonly plugins?: PluginConfig[];
}

/** Docker Desktop's name for the host: the emulator published there is a local server too. */
const DOCKER_HOST = 'host.docker.internal';

/** Whether the endpoint is a local, single-endpoint server (emulator, cosmosdb-server). */
export const isLocalCosmosEndpoint = (endpoint: string, caFile?: string): boolean => {
  const url = new URL(endpoint);
  return (
    url.protocol === 'http:' || isLoopbackHost(url.hostname) || url.hostname === DOCKER_HOST || caFile !== undefined
  );
};

/**
 * A Cosmos DB client for the event store. With `caFile`, the PEM is trusted through this client's own
 * keep-alive HTTPS agent.
 */
export const createCosmosClient = ({
  endpoint,
  key,
  caFile,
  endpointDiscovery,
  plugins,
}: CosmosClientSettings): CosmosClient => {
  const url = new URL(endpoint);
  const discover = endpointDiscovery ?? !isLocalCosmosEndpoint(endpoint, caFile);
  const connectionPolicy: ConnectionPolicy = {
    enableEndpointDiscovery: discover,
    enableBackgroundEndpointRefreshing: discover,
    requestTimeout: 10_000, // default 60 s; throttling (429) keeps the SDK's own retries
  };
  let agent: Agent | undefined;
  if (caFile !== undefined) {
    if (url.protocol !== 'https:') throw new Error(`caFile given for a non-HTTPS Cosmos endpoint ${url.origin}`);
    agent = new Agent({ ca: readFileSync(caFile), keepAlive: true });
  }
  const options: CosmosClientOptions & { plugins?: PluginConfig[] } = {
    endpoint,
    ...(key ? { key } : { aadCredentials: new DefaultAzureCredential() }),
    connectionPolicy,
    ...(agent ? { agent } : {}),
    ...(plugins ? { plugins } : {}),
  };
  return new CosmosClient(options);
};
