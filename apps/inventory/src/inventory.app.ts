import { InventoryModule } from '@app/inventory';
import type { AppDefinition } from '@app/platform';

export const inventoryService: AppDefinition = {
  name: 'Inventory service',
  description: 'The inventory bounded context on its own.',
  service: 'inventory',
  defaultPort: 3002,
  contexts: [InventoryModule],
  tags: [{ name: 'inventory', description: 'Inventory context: products, stock, reservations' }],
};
