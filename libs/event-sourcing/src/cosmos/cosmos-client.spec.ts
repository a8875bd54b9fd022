import { DefaultAzureCredential } from '@azure/identity';
import { createCosmosClient } from './cosmos-client.js';

/** The options the SDK keeps (not part of its typings). */
const optionsOf = (client: object) =>
  (client as { clientContext: { cosmosClientOptions: { key?: string; aadCredentials?: unknown } } }).clientContext
    .cosmosClientOptions;

describe('createCosmosClient', () => {
  it('signs with the account key when one is given', () => {
    const client = createCosmosClient({ endpoint: 'https://account.documents.azure.com:443/', key: 'a2V5' });
    expect(optionsOf(client).key).toBe('a2V5');
    expect(optionsOf(client).aadCredentials).toBeUndefined();
    client.dispose();
  });

  it('uses Microsoft Entra ID (DefaultAzureCredential) when no key is given', () => {
    const client = createCosmosClient({ endpoint: 'https://account.documents.azure.com:443/' });
    expect(optionsOf(client).key).toBeUndefined();
    expect(optionsOf(client).aadCredentials).toBeInstanceOf(DefaultAzureCredential);
    client.dispose();
  });
});
