import './tracing.js';
import { runHttpApp } from '@app/platform';
import { inventoryService } from './inventory.app.js';

await runHttpApp(inventoryService);
