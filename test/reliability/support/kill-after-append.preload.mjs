// Test-only fault point, never part of an app: loaded into a built service with
// `NODE_OPTIONS=--import=<this file>` by the reliability suite (see killAfterAppendEnv in faults.ts).
// With TEST_FAULT_KILL_AFTER_APPEND=<event type>, the process kills itself with SIGKILL right after an
// append containing that event type succeeded, before the relay can publish it: the suite then proves
// that the outbox publishes the event after a restart.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const eventType = process.env.TEST_FAULT_KILL_AFTER_APPEND;
if (eventType) {
  // The same module instance the app imports later (ESM caches by URL): patching its class patches the app's.
  const file = join(process.cwd(), 'dist/libs/event-sourcing/src/cosmos/cosmos-event-store.js');
  const { CosmosEventStore } = await import(pathToFileURL(file).href);
  const append = CosmosEventStore.prototype.appendToStream;
  CosmosEventStore.prototype.appendToStream = async function (streamId, events, options) {
    const result = await append.call(this, streamId, events, options);
    if (events.some((event) => event.type === eventType)) process.kill(process.pid, 'SIGKILL');
    return result;
  };
  process.stderr.write(`TEST FAULT ARMED: SIGKILL after appending ${eventType}\n`);
}
