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
    { name: 'orders', description: 'Orders context: place and cancel orders, read order summaries' },
    { name: 'inventory', description: 'Inventory context: products, stock, reservations' },
  ],
};
