import './tracing.js';
import { runHttpApp } from '@app/platform';
import { ordersService } from './orders.app.js';

await runHttpApp(ordersService);
