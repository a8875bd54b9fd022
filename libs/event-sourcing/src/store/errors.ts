import { ApplicationError } from '@app/core';
import type { ExpectedVersion } from './event-store.js';

/** The stream was not at the expected version. The only error a command retry reacts to. */
export class ConcurrencyError extends ApplicationError {
  constructor(
    readonly streamId: string,
    readonly expectedVersion: ExpectedVersion,
    readonly actualVersion?: number,
  ) {
    super(
      'CONCURRENCY_CONFLICT',
      'conflict',
      `Stream ${streamId} was modified concurrently (expected version ${String(expectedVersion)}` +
        (actualVersion === undefined ? ')' : `, actual ${actualVersion})`),
      { streamId, expectedVersion, ...(actualVersion === undefined ? {} : { actualVersion }) },
    );
  }
}

export class StreamNotFoundError extends ApplicationError {
  constructor(readonly streamId: string) {
    super('STREAM_NOT_FOUND', 'not_found', `Stream ${streamId} does not exist`, { streamId });
  }
}

export class AppendTooLargeError extends ApplicationError {
  constructor(streamId: string, reason: string) {
    super('APPEND_TOO_LARGE', 'too_large', `Append to ${streamId} is too large: ${reason}`, { streamId });
  }
}

/** The event store could not be reached or answered with an unexpected failure. */
export class EventStoreUnavailableError extends ApplicationError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EVENT_STORE_UNAVAILABLE', 'unavailable', message);
    if (options?.cause) this.cause = options.cause;
  }
}

/**
 * An append failed in a way that leaves open whether it was written (the request was sent, its answer
 * lost, and reading the stream did not settle it): the command may have been applied. Same code as any
 * unavailability, so consumers wait and retry as for an outage (their commands are idempotent); the
 * HTTP edge answers it as `APPEND_OUTCOME_UNKNOWN` (only a keyed command is safe to send again).
 */
export class AppendOutcomeUnknownError extends EventStoreUnavailableError {
  readonly outcomeUnknown = true;
}

/**
 * An Idempotency-Key sent again with another request than the one it first came with (IETF httpapi
 * idempotency-key draft: 422). Not retried: the same key will never fit another request.
 */
export class IdempotencyKeyReusedError extends ApplicationError {
  constructor() {
    super(
      'IDEMPOTENCY_KEY_REUSED',
      'unprocessable',
      'This Idempotency-Key was used with another request; send a new key for a new request',
    );
  }
}
