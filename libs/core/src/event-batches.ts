/**
 * A batch of events was handled only in part: every event before index `handled` is done, the one at
 * `handled` failed with `cause` (events after it may or may not be done; handlers are idempotent). The
 * transport commits up to `handled` and retries from there, one event at a time until that one passes.
 */
export class PartialBatchError extends Error {
  override readonly name = 'PartialBatchError';

  constructor(
    readonly handled: number,
    override readonly cause: unknown,
  ) {
    super(`Batch handled up to event ${handled}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** Where a batch stopped: the index PartialBatchError names, or 0 for any other error (nothing known done). */
export const handledBefore = (error: unknown): number => (error instanceof PartialBatchError ? error.handled : 0);

/** The error behind a batch failure, for logs and retry decisions. */
export const batchCause = (error: unknown): unknown => (error instanceof PartialBatchError ? error.cause : error);
