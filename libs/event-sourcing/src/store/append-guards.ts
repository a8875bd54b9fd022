import { AppendTooLargeError, ConcurrencyError } from './errors.js';
import { ANY, EventStore, NO_STREAM, type EventToAppend, type ExpectedVersion } from './event-store.js';

/** Size limits shared by every adapter, so an append that works in memory also works on Cosmos. */
export const assertAppendFits = (streamId: string, events: readonly EventToAppend[]): void => {
  if (events.length === 0) throw new AppendTooLargeError(streamId, 'no events to append');
  if (events.length > EventStore.MAX_EVENTS_PER_APPEND) {
    throw new AppendTooLargeError(
      streamId,
      `${events.length} events, at most ${EventStore.MAX_EVENTS_PER_APPEND} per append`,
    );
  }
  const bytes = Buffer.byteLength(JSON.stringify(events));
  if (bytes > EventStore.MAX_APPEND_BYTES) {
    throw new AppendTooLargeError(streamId, `${bytes} bytes, at most ${EventStore.MAX_APPEND_BYTES}`);
  }
};

/** Throws unless a stream at `current` (0 = absent) satisfies `expected`. */
export const assertExpectedVersion = (streamId: string, expected: ExpectedVersion, current: number): void => {
  if (expected === ANY) return;
  const wanted = expected === NO_STREAM ? 0 : expected;
  if (current !== wanted) throw new ConcurrencyError(streamId, expected, current);
};
