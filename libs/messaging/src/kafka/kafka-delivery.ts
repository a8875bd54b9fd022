// Retries: one event dispatched until it succeeds, `handlerAttempts` tries in all with exponential backoff
// from `retryBaseDelayMs`, then dead-lettered (kafka-dead-lettering.ts) so the partition moves on. A refusal
// no retry can change (unknown aggregate, invalid input, business rule) is dead-lettered at once. A store
// outage is not the message's fault: the partition is held (no attempt spent) until the store is back,
// since dead-lettering would lose the update and break every later event of the stream on a version gap.
// Waits heartbeat, and end early when the application stops (ConsumerStoppingError: the message stays
// uncommitted and comes again after restart) or the partition is lost (PartitionLostError: the next owner
// takes it).
import { Logger } from '@nestjs/common';
import { ApplicationError, type RecordedEvent } from '@app/core';
import type { OffsetMessage, PartitionLane } from './kafka-consumed.js';
import { deadLetter, describeError } from './kafka-dead-lettering.js';
import { throwIfLost } from './kafka-membership.js';
import type { KafkaTransportOptions } from './kafka-settings.js';

export type ConsumeOutcome = 'handled' | 'skipped' | 'dead-lettered';

/** The application is stopping: the message is left uncommitted and is delivered again after restart. */
export class ConsumerStoppingError extends Error {
  override readonly name = 'ConsumerStoppingError';
}

export type RetrySettings = Pick<KafkaTransportOptions, 'handlerAttempts' | 'retryBaseDelayMs'> &
  Partial<Pick<KafkaTransportOptions, 'groupId'>>;

const logger = new Logger('KafkaEventConsumer');
const HEARTBEAT_EVERY_MS = 1000;
/** Longest wait between two tries while a store is down. */
const OUTAGE_MAX_BACKOFF_MS = 5_000;

/** Pauses the partition and throws once the application is stopping. */
export const throwIfStopping = (lane: PartitionLane, offset: string, stopping: AbortSignal): void => {
  if (!stopping.aborted) return;
  lane.pause();
  throw new ConsumerStoppingError(`Stopping: ${lane.topic}[${lane.partition}]@${offset} left for redelivery`);
};

/** Waits `ms` in heartbeats (a batch's heartbeat records a lost membership), cut short by a stop or a loss. */
export const waitHeartbeating = async (ms: number, lane: PartitionLane, stopping: AbortSignal): Promise<void> => {
  const until = Date.now() + ms;
  const waiting = () => !stopping.aborted && lane.isActive?.() !== false;
  for (let left = ms; left > 0 && waiting(); left = until - Date.now()) {
    await sleep(Math.min(left, HEARTBEAT_EVERY_MS), stopping);
    await lane.heartbeat().catch(() => undefined);
  }
};

export interface Delivery {
  readonly lane: PartitionLane;
  readonly message: OffsetMessage;
  readonly event: RecordedEvent;
  /** One try: the handlers on this event. */
  readonly dispatch: () => Promise<unknown>;
  /** The first try already failed with this (inside a batch): it counts as attempt 1. */
  readonly firstFailure?: unknown;
}

/** Dispatches one event with retries, then dead-letters it; holds the partition while a store is down. */
export const deliver = async (
  { lane, message, event, dispatch, firstFailure }: Delivery,
  settings: RetrySettings,
  stopping: AbortSignal,
): Promise<ConsumeOutcome> => {
  const attempts = Math.max(1, settings.handlerAttempts);
  const what = `${event.type} ${event.streamId}@${event.version}`;
  let failure = firstFailure;
  let outageWaits = 0;
  for (let attempt = 1; ;) {
    throwIfStopping(lane, message.offset, stopping);
    throwIfLost(lane, message.offset);
    try {
      if (failure === undefined) await dispatch();
      else throw failure;
      return 'handled';
    } catch (error) {
      failure = undefined;
      throwIfStopping(lane, message.offset, stopping); // a dependency closing under the handler is no reason
      if (isDependencyOutage(error)) {
        const wait = Math.min(OUTAGE_MAX_BACKOFF_MS, settings.retryBaseDelayMs * 2 ** Math.min(outageWaits++, 10));
        logger.warn(`${what} waits for ${describeError(error)}`);
        await waitHeartbeating(wait, lane, stopping);
        continue;
      }
      logger.warn(`${what} failed (attempt ${attempt}/${attempts}): ${describeError(error)}`);
      if (isPermanent(error) || attempt >= attempts) {
        return deadLetter(lane, message, attempt, error, settings.groupId);
      }
      await waitHeartbeating(settings.retryBaseDelayMs * 2 ** (attempt - 1), lane, stopping);
      attempt++;
    }
  }
};

/**
 * Application errors that say "this will never work" rather than "not now". Concurrency conflicts,
 * unavailable dependencies, projection gaps and unknown errors are worth retrying.
 */
const isPermanent = (error: unknown): boolean =>
  error instanceof ApplicationError &&
  (error.kind === 'not_found' ||
    error.kind === 'invalid' ||
    (error.kind === 'conflict' && error.code !== 'CONCURRENCY_CONFLICT'));

/** The event or read store cannot be reached: the message is fine, so wait instead of giving up on it. */
const isDependencyOutage = (error: unknown): boolean =>
  error instanceof ApplicationError &&
  (error.code === 'READ_STORE_UNAVAILABLE' || error.code === 'EVENT_STORE_UNAVAILABLE');

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
