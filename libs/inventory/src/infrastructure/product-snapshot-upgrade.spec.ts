// A Product snapshot of state schema 1 after the deploy of schema 2, over the in-memory event store (the
// same over the Cosmos DB event store: product-snapshot-upgrade.int-spec.ts).
import { InMemoryEventStore } from '@app/event-sourcing';
import { productSnapshotUpgrade } from '../testing/product-snapshot-upgrade.js';

productSnapshotUpgrade('in-memory', async () => new InMemoryEventStore());
