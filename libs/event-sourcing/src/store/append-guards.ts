import { AppendTooLargeError, ConcurrencyError } from './errors.js';
import { ANY, EventStore, NO_STREAM, type EventToAppend, type ExpectedVersion } from './event-store.js';

/**
 * Checks an append against the size limits shared by every adapter (so an append that works in memory
 * also works on Cosmos) and returns its events as JSON: the one serialization the size is measured on,
 * which the adapters parse back as the copy they record. So the events an append hands back (to the
 * aggregate, the relay's fast path, in-process handlers) are JSON values, exactly what a later read
 * returns: a Date in an event's data is its ISO string on both paths, not an object on one of them.
 */
export const serializeAppend = (streamId: string, events: readonly EventToAppend[]): string => {
  if (events.length === 0) throw new AppendTooLargeError(streamId, 'no events to append');
  if (events.length > EventStore.MAX_EVENTS_PER_APPEND) {
    throw new AppendTooLargeError(
      streamId,
      `${events.length} events, at most ${EventStore.MAX_EVENTS_PER_APPEND} per append`,
    );
  }
  const json = JSON.stringify(events);
  const bytes = Buffer.byteLength(json);
  if (bytes > EventStore.MAX_APPEND_BYTES) {
    throw new AppendTooLargeError(streamId, `${bytes} bytes, at most ${EventStore.MAX_APPEND_BYTES}`);
  }
  return json;
};

/** Throws unless a stream at `current` (0 = absent) satisfies `expected`. */
export const assertExpectedVersion = (streamId: string, expected: ExpectedVersion, current: number): void => {
  if (expected === ANY) return;
  const wanted = expected === NO_STREAM ? 0 : expected;
  if (current !== wanted) throw new ConcurrencyError(streamId, expected, current);
};
