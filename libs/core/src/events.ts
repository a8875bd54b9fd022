/**
 * A domain event as the business logic sees it: a past-tense type name and its data.
 * Timestamps belong in the data (`placedAt`), so replaying history never consults a clock.
 */
export interface DomainEvent<Type extends string = string, Data extends object = object> {
  readonly type: Type;
  readonly data: Data;
}

/** What travels with every stored event besides its data; tracing and deduplication live here. */
export interface EventMetadata {
  /** Unique per event; consumers deduplicate on it. */
  readonly eventId: string;
  /** The request or flow this event belongs to (copied from the command that caused it). */
  readonly correlationId: string;
  /** The id of the command or event that directly caused this event. */
  readonly causationId: string;
  readonly occurredAt: string;
  /** W3C trace context of the command that raised the event (set when tracing is on): the trace goes on from it. */
  readonly traceparent?: string;
  readonly tracestate?: string;
}

/** An event as stored in a stream: position, schema version and metadata added by the store. */
export interface RecordedEvent<E extends DomainEvent = DomainEvent> {
  readonly streamId: string;
  /** 1-based position in the stream. */
  readonly version: number;
  readonly type: E['type'];
  readonly schemaVersion: number;
  readonly data: E['data'];
  readonly metadata: EventMetadata;
}

/** `Order-3f1c...` -> `Order`. Stream ids are `<Category>-<id>`; the category names the aggregate type. */
export const streamCategory = (streamId: string): string => {
  const dash = streamId.indexOf('-');
  return dash === -1 ? streamId : streamId.slice(0, dash);
};

/** `Order-3f1c...` -> `3f1c...` */
export const streamEntityId = (streamId: string): string => streamId.slice(streamId.indexOf('-') + 1);

/**
 * The domain event a recorded one carries, typed as one of the events a handler declares it handles
 * (`events` of its @HandlesEvents): checked, so the narrowing holds. The handler registry only delivers
 * those types, so a mismatch is a wiring error and throws.
 */
export const eventOfTypes = <E extends DomainEvent>(event: RecordedEvent, types: readonly E['type'][]): E => {
  if (!(types as readonly string[]).includes(event.type)) {
    throw new Error(`${event.streamId}@${event.version}: ${event.type} is not one of ${types.join(', ')}`);
  }
  return { type: event.type, data: event.data } as E;
};
