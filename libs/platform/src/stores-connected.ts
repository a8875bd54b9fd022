import type { INestApplicationContext } from '@nestjs/common';
import type { DependencyConnection } from '@app/core';
import { EventStoreConnection } from '@app/event-sourcing';
import { ReadModelStoreConnection } from '@app/read-models';

/**
 * Waits until the event store and the read-model store are connected. A service starts without them
 * (they connect in the background); a command-line job (a rebuild) needs both before it begins, and
 * gives up with one line naming the missing ones after `timeoutMs`.
 */
export const storesConnected = async (app: INestApplicationContext, timeoutMs: number): Promise<void> => {
  const connections = [app.get(EventStoreConnection).connection, app.get(ReadModelStoreConnection).connection].filter(
    (connection): connection is DependencyConnection => connection !== undefined,
  );
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((done) => (timer = setTimeout(() => done('timeout'), timeoutMs)));
  try {
    const outcome = await Promise.race([Promise.all(connections.map((c) => c.connected)), timeout]);
    if (outcome !== 'timeout') return;
  } finally {
    clearTimeout(timer);
  }
  const missing = connections.filter((c) => !c.isConnected);
  throw new Error(
    `${missing.map((c) => `${c.name}${c.lastError ? ` (${c.lastError})` : ''}`).join(', ')} ` +
      `not reachable after ${timeoutMs / 1000} s`,
  );
};
