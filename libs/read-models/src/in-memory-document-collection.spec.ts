import { readModelStoreContract } from './testing/document-collection.contract.js';
import { InMemoryReadModelStore } from './in-memory-document-collection.js';

readModelStoreContract('in-memory', async () => new InMemoryReadModelStore());
