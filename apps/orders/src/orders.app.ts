import { OrdersModule } from '@app/orders';
import type { AppDefinition } from '@app/platform';

export const ordersService: AppDefinition = {
  name: 'Orders service',
  description: 'The orders bounded context on its own.',
  service: 'orders',
  defaultPort: 3001,
  contexts: [OrdersModule],
  tags: [{ name: 'orders', description: 'Orders context: place and cancel orders, read order summaries' }],
};
