import { InventoryModule } from '@app/inventory';
import type { AppDefinition } from '@app/platform';

export const inventoryService: AppDefinition = {
  name: 'Inventory service',
  description: 'The inventory bounded context on its own.',
  service: 'inventory',
  defaultPort: 3002,
  contexts: [InventoryModule],
  tags: [
    { name: 'inventory: commands', description: 'Register products and add stock' },
    { name: 'inventory: queries', description: 'Read product stock, projected from the inventory events' },
    { name: 'health', description: 'Liveness and readiness probes for orchestrators' },
  ],
};
