import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The correlation id of the work in progress (an HTTP request, a delivered event), for logs. Set at
 * the edges (HTTP middleware, event delivery); read by the logger. Event metadata never relies on it:
 * commands carry their CommandContext explicitly.
 */
const storage = new AsyncLocalStorage<{ correlationId: string }>();

export const runWithCorrelation = <T>(correlationId: string, fn: () => T): T => storage.run({ correlationId }, fn);

export const currentCorrelationId = (): string | undefined => storage.getStore()?.correlationId;
