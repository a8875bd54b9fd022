import { Logger } from '@nestjs/common';
import type { AppendResult, EventStore, EventToAppend, ExpectedVersion } from './event-store.js';

/**
 * Test-only fault point (`TEST_FAULT_KILL_AFTER_APPEND=<event type>`): the process kills itself with
 * SIGKILL right after an append containing that event type succeeded, before the relay can publish
 * it. The reliability suite uses it to prove that the outbox publishes such events after a restart.
 * Never set it in production; start-up logs a loud warning when it is.
 */
export const killAfterAppendOf = (store: EventStore, eventType: string): EventStore => {
  new Logger('FaultInjection').warn(
    `TEST FAULT ARMED: this process will SIGKILL itself after appending ${eventType} (TEST_FAULT_KILL_AFTER_APPEND)`,
  );
  const append = store.appendToStream.bind(store);
  store.appendToStream = async (
    streamId: string,
    events: readonly EventToAppend[],
    options: { expectedVersion: ExpectedVersion },
  ): Promise<AppendResult> => {
    const result = await append(streamId, events, options);
    if (events.some((e) => e.type === eventType)) process.kill(process.pid, 'SIGKILL');
    return result;
  };
  return store;
};
