import { OrdersModule } from '@app/orders';
import type { AppDefinition } from '@app/platform';

export const ordersService: AppDefinition = {
  name: 'Orders service',
  description: 'The orders bounded context on its own.',
  service: 'orders',
  defaultPort: 3001,
  contexts: [OrdersModule],
  tags: [
    { name: 'orders: commands', description: 'Place and cancel orders (they append to the order streams)' },
    { name: 'orders: queries', description: 'Read order summaries, projected from the order events' },
    { name: 'health', description: 'Liveness and readiness probes for orchestrators' },
  ],
};
