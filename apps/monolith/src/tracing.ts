// First import of main.ts: tracing starts before the http and express modules load (see startTracing).
import { startTracing } from '@app/platform/tracing';

startTracing('monolith');
