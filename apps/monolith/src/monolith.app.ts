import { InventoryModule } from '@app/inventory';
import { OrdersModule } from '@app/orders';
import type { AppDefinition } from '@app/platform';

/** Every bounded context in one process; events between them travel in-process. */
export const monolith: AppDefinition = {
  name: 'CQRS starter monolith',
  description: 'Orders and inventory in one process: commands append to the event store, queries read projections.',
  service: 'monolith',
  defaultPort: 3000,
  contexts: [OrdersModule, InventoryModule],
  tags: [
    { name: 'orders: commands', description: 'Place and cancel orders (they append to the order streams)' },
    { name: 'orders: queries', description: 'Read order summaries, projected from the order events' },
    { name: 'inventory: commands', description: 'Register products and add stock' },
    { name: 'inventory: queries', description: 'Read product stock, projected from the inventory events' },
    { name: 'health', description: 'Liveness and readiness probes for orchestrators' },
  ],
};
