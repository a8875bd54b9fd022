import type { EventMetadata, RecordedEvent } from '@app/core';

/** Header names of an event message. Values are UTF-8 strings; the JSON value stays the source of truth. */
export const EVENT_HEADERS = {
  eventType: 'event-type',
  eventId: 'event-id',
  schemaVersion: 'schema-version',
  correlationId: 'correlation-id',
  causationId: 'causation-id',
  streamId: 'stream-id',
  streamVersion: 'stream-version',
  occurredAt: 'occurred-at',
} as const;

/** A message as handed to the producer: key = stream id (one stream stays in one partition, in order). */
export interface EventMessage {
  readonly key: string;
  readonly value: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** Key, value and headers of a consumed message, in any of the shapes kafkajs or Nest's KafkaParser give. */
export interface IncomingMessage {
  readonly key?: unknown;
  readonly value?: unknown;
  readonly headers?: Readonly<Record<string, unknown>>;
}

/** The message is not an event envelope (bad JSON, missing or mistyped fields): retrying cannot help. */
export class MalformedMessageError extends Error {
  override readonly name = 'MalformedMessageError';
}

export const encodeEvent = (event: RecordedEvent): EventMessage => ({
  key: event.streamId,
  value: JSON.stringify({
    streamId: event.streamId,
    version: event.version,
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: event.data,
    metadata: event.metadata,
  } satisfies RecordedEvent),
  headers: {
    [EVENT_HEADERS.eventType]: event.type,
    [EVENT_HEADERS.eventId]: event.metadata.eventId,
    [EVENT_HEADERS.schemaVersion]: String(event.schemaVersion),
    [EVENT_HEADERS.correlationId]: event.metadata.correlationId,
    [EVENT_HEADERS.causationId]: event.metadata.causationId,
    [EVENT_HEADERS.streamId]: event.streamId,
    [EVENT_HEADERS.streamVersion]: String(event.version),
    [EVENT_HEADERS.occurredAt]: event.metadata.occurredAt,
  },
});

/**
 * A header or key as text: kafkajs gives Buffers, Nest's KafkaParser strings (or, for text that looks like
 * JSON, the parsed value; for text starting with a zero byte, the Buffer). Undefined when absent.
 */
export const textOf = (raw: unknown): string | undefined => {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'string') return raw;
  if (Buffer.isBuffer(raw)) return raw.toString('utf8');
  if (Array.isArray(raw) && raw.length > 0 && raw.every((item) => Buffer.isBuffer(item) || typeof item === 'string')) {
    return textOf(raw[raw.length - 1]); // repeated header: the last one wins, as in the Java client's lastHeader
  }
  return JSON.stringify(raw);
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);

const parseValue = (raw: unknown): unknown => {
  if (raw === undefined || raw === null) throw new MalformedMessageError('Message has no value');
  if (isRecord(raw)) return raw; // already parsed by Nest's KafkaParser (keepBinary off)
  const text = typeof raw === 'string' ? raw : Buffer.isBuffer(raw) ? raw.toString('utf8') : undefined;
  if (text === undefined) throw new MalformedMessageError(`Message value is a ${typeof raw}, not JSON`);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new MalformedMessageError(`Message value is not JSON: ${(error as Error).message}`);
  }
};

const requireString = (record: Record<string, unknown>, field: string, where: string): string => {
  const value = record[field];
  if (typeof value !== 'string' || value === '') {
    throw new MalformedMessageError(`${where}.${field} must be a non-empty string`);
  }
  return value;
};

const requirePositiveInteger = (record: Record<string, unknown>, field: string): number => {
  const value = record[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new MalformedMessageError(`event.${field} must be a positive integer`);
  }
  return value;
};

/**
 * Reads an event message back into the RecordedEvent it carries. The JSON value is the source of truth;
 * a key or `event-type` header that contradicts it makes the message malformed (it would break per-stream
 * ordering or routing). Throws MalformedMessageError for anything that is not a well-formed envelope.
 */
export const decodeEvent = (message: IncomingMessage): RecordedEvent => {
  const parsed = parseValue(message.value);
  if (!isRecord(parsed)) throw new MalformedMessageError('Message value is not a JSON object');
  const streamId = requireString(parsed, 'streamId', 'event');
  const version = requirePositiveInteger(parsed, 'version');
  const type = requireString(parsed, 'type', 'event');
  const schemaVersion = requirePositiveInteger(parsed, 'schemaVersion');
  const { data, metadata } = parsed;
  if (!isRecord(data)) throw new MalformedMessageError('event.data must be a JSON object');
  if (!isRecord(metadata)) throw new MalformedMessageError('event.metadata must be a JSON object');
  const eventMetadata: EventMetadata = {
    ...metadata,
    eventId: requireString(metadata, 'eventId', 'event.metadata'),
    correlationId: requireString(metadata, 'correlationId', 'event.metadata'),
    causationId: requireString(metadata, 'causationId', 'event.metadata'),
    occurredAt: requireString(metadata, 'occurredAt', 'event.metadata'),
  };

  const key = textOf(message.key);
  if (key !== undefined && key !== streamId) {
    throw new MalformedMessageError(`Message key ${key} is not the event's stream id ${streamId}`);
  }
  const typeHeader = textOf(message.headers?.[EVENT_HEADERS.eventType]);
  if (typeHeader !== undefined && typeHeader !== type) {
    throw new MalformedMessageError(`Header ${EVENT_HEADERS.eventType} ${typeHeader} contradicts event type ${type}`);
  }
  return { streamId, version, type, schemaVersion, data, metadata: eventMetadata };
};
