// Two interleaved copies of ReserveStock for one order over the in-memory event store (the same races
// against the Cosmos DB event store: reserve-stock.concurrency.int-spec.ts).
import { InMemoryEventStore } from '@app/event-sourcing';
import { reserveStockRaces } from '../../testing/reserve-stock.races.js';

reserveStockRaces('in-memory', async () => new InMemoryEventStore());
