import './tracing.js';
import { runHttpApp } from '@app/platform';
import { monolith } from './monolith.app.js';

await runHttpApp(monolith);
