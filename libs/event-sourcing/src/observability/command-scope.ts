import { AsyncLocalStorage } from 'node:async_hooks';

/** The command being executed (its type), for what the repository does on its behalf (retries). */
const storage = new AsyncLocalStorage<string>();

export const runInCommand = <T>(commandType: string, fn: () => T): T => storage.run(commandType, fn);

export const currentCommandType = (): string => storage.getStore() ?? 'unknown';
