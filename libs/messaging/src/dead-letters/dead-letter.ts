// A dead letter as operators see it: read from a `<topic>.dlq` message (the consumer copies the original key,
// value and headers and adds DLQ_HEADERS), named by a ref `<dlq topic>:<partition>:<offset>` (what Kafka
// itself uses to name one record, safe in a shell and a URL path), and what a redrive sends back to the
// origin topic: the original key and headers, the event upcast to the current schema version, marked with
// `dlq-redrive-of` (and `dlq-redrive-for-group`, so only the consumer group that failed applies it again).
// Pure functions, no I/O: the Kafka side is KafkaDeadLetterLog.
import type { RecordedEvent } from '@app/core';
import { decodeEvent, encodeEvent, EVENT_HEADERS, textOf } from '../kafka/kafka-envelope.js';
import { DLQ_HEADERS } from '../kafka/kafka-dead-lettering.js';

/** Kafka's legal topic characters; a ref is `<dlq topic>:<partition>:<offset>`. */
const REF = /^([A-Za-z0-9._-]{1,249}\.dlq):(0|[1-9]\d{0,5}):(0|[1-9]\d{0,18})$/;

export interface DeadLetterRef {
  /** The dead-letter topic (`<origin>.dlq`). */
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

export const formatRef = ({ topic, partition, offset }: DeadLetterRef): string => `${topic}:${partition}:${offset}`;

/** Why a ref was refused, for a field error. Undefined when it is a valid ref. */
export const refProblem = (text: unknown): string | undefined =>
  typeof text !== 'string'
    ? 'must be a string'
    : REF.test(text)
      ? undefined
      : `"${text.slice(0, 300)}" is not a dead-letter ref (<topic>.dlq:<partition>:<offset>, as listed)`;

export const parseRef = (text: string): DeadLetterRef => {
  const match = REF.exec(text);
  if (!match) throw new TypeError(refProblem(text));
  return { topic: match[1]!, partition: Number(match[2]), offset: match[3]! };
};

/** Where a handled record goes: a compacted topic beside the dead-letter topic, keyed by ref. */
export const handledTopic = (deadLetterTopic: string): string => `${deadLetterTopic}.handled`;

/** What happened to a dead letter; the value of its record in `<topic>.dlq.handled`. */
export interface HandledRecord {
  readonly ref: string;
  readonly action: 'redriven' | 'discarded';
  /** When it was handled (ISO 8601). */
  readonly at: string;
  /** Who handled it: the token's subject over HTTP, the OS user on the command line. */
  readonly by: string;
  /** Why it was discarded (required for a discard). */
  readonly reason?: string;
  /** Where the redrive went. */
  readonly redrivenTo?: { readonly topic: string; readonly partition: number; readonly offset: string };
}

/** A raw message of a dead-letter topic (kafkajs shape). */
export interface RawMessage {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, unknown>>;
  readonly timestamp?: string;
}

/** One line of `list`: everything but the payload. */
export interface DeadLetterSummary {
  readonly ref: string;
  readonly origin: { readonly topic: string; readonly partition: number | null; readonly offset: string | null };
  /** The consumer group that failed it (absent on dead letters written before this header existed). */
  readonly group: string | null;
  readonly eventType: string | null;
  readonly streamId: string | null;
  readonly streamVersion: number | null;
  readonly schemaVersion: number | null;
  readonly attempts: number | null;
  readonly error: string;
  readonly failedAt: string | null;
  /** Set when this dead letter is a redrive that failed again: the ref it was a redrive of. */
  readonly redriveOf: string | null;
}

/** `show`: the summary plus every header and the payload (parsed JSON when it is JSON, else the text). */
export interface DeadLetter extends DeadLetterSummary {
  readonly key: string | null;
  readonly headers: Readonly<Record<string, string>>;
  /** The message value as text (UTF-8), as it was consumed; null when it had none. */
  readonly value: string | null;
  /** The value's JSON object, when it is one (an event envelope, or what is left of it). */
  readonly payload?: Readonly<Record<string, unknown>>;
  /** The raw message, for a redrive (not shown). */
  readonly raw: RawMessage;
}

const integerOrNull = (text: string | undefined): number | null =>
  text !== undefined && /^\d{1,15}$/.test(text) ? Number(text) : null;

const jsonObjectOf = (text: string | null): Record<string, unknown> | undefined => {
  if (text === null) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
};

/** Reads a message of `topic` (a dead-letter topic) at partition/offset. Never throws: a dead letter may be anything. */
export const readDeadLetter = (topic: string, partition: number, offset: string, raw: RawMessage): DeadLetter => {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw.headers ?? {})) {
    const text = textOf(value);
    if (text !== undefined) headers[name] = text;
  }
  let event: RecordedEvent | undefined;
  try {
    event = decodeEvent({ key: raw.key, value: raw.value, headers: raw.headers });
  } catch {
    event = undefined; // malformed: what the headers say is all there is
  }
  const payload = jsonObjectOf(raw.value === null ? null : raw.value.toString('utf8'));
  const originTopic = headers[DLQ_HEADERS.originTopic] ?? topic.replace(/\.dlq$/, '');
  return {
    ref: formatRef({ topic, partition, offset }),
    origin: {
      topic: originTopic,
      partition: integerOrNull(headers[DLQ_HEADERS.originPartition]),
      offset: headers[DLQ_HEADERS.originOffset] ?? null,
    },
    group: headers[DLQ_HEADERS.group] ?? null,
    eventType: event?.type ?? headers[EVENT_HEADERS.eventType] ?? null,
    streamId: event?.streamId ?? headers[EVENT_HEADERS.streamId] ?? null,
    streamVersion: event?.version ?? integerOrNull(headers[EVENT_HEADERS.streamVersion]),
    schemaVersion: event?.schemaVersion ?? integerOrNull(headers[EVENT_HEADERS.schemaVersion]),
    attempts: integerOrNull(headers[DLQ_HEADERS.attempts]),
    error: headers[DLQ_HEADERS.error] ?? '(no error recorded)',
    failedAt: headers[DLQ_HEADERS.failedAt] ?? (raw.timestamp ? new Date(Number(raw.timestamp)).toISOString() : null),
    redriveOf: headers[DLQ_HEADERS.redriveOf] ?? null,
    key: raw.key === null ? null : raw.key.toString('utf8'),
    headers,
    value: raw.value === null ? null : raw.value.toString('utf8'),
    ...(payload ? { payload } : {}),
    raw,
  };
};

export const summaryOf = ({
  key: _k,
  headers: _h,
  value: _v,
  payload: _p,
  raw: _r,
  ...summary
}: DeadLetter): DeadLetterSummary => summary;

/** The dead letter cannot go back: it would only fail again the same way. */
export class NotRedrivableError extends Error {
  override readonly name = 'NotRedrivableError';
}

export interface RedriveMessage {
  readonly topic: string;
  readonly key: string;
  readonly value: string;
  readonly headers: Record<string, string>;
}

/**
 * The message a redrive sends to the origin topic: the original key and headers (tracing, correlation),
 * without the dead-letter headers, the event upcast to its current schema version (its envelope headers
 * follow), marked as a redrive of `ref` for the consumer group that failed it.
 * @throws NotRedrivableError when the message is not an event envelope or its schema version cannot be read.
 */
export const redriveMessage = (
  deadLetter: DeadLetter,
  upcast: (event: RecordedEvent) => RecordedEvent,
): RedriveMessage => {
  let event: RecordedEvent;
  try {
    event = upcast(
      decodeEvent({ key: deadLetter.raw.key, value: deadLetter.raw.value, headers: deadLetter.raw.headers }),
    );
  } catch (error) {
    throw new NotRedrivableError(`${deadLetter.ref} cannot be redriven (discard it): ${(error as Error).message}`);
  }
  const encoded = encodeEvent(event);
  const kept = Object.entries(deadLetter.headers).filter(([name]) => !name.startsWith('dlq-'));
  return {
    topic: deadLetter.origin.topic,
    key: encoded.key,
    value: encoded.value,
    headers: {
      ...Object.fromEntries(kept),
      ...encoded.headers,
      [DLQ_HEADERS.redriveOf]: deadLetter.ref,
      ...(deadLetter.group ? { [DLQ_HEADERS.redriveForGroup]: deadLetter.group } : {}),
    },
  };
};
