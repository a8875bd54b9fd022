import { currentCommandType } from '../observability/command-scope.js';
import { commandRetriesTotal } from '../observability/metrics.js';
import { ConcurrencyError } from '../store/errors.js';

export interface RetryPolicy {
  /** Total attempts including the first. */
  readonly attempts: number;
  /** Upper bound of the first backoff; doubles per attempt ("full jitter": a random delay below it). */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { attempts: 8, baseDelayMs: 10, maxDelayMs: 500 };

/**
 * Re-runs `attempt` (load, decide, append) when it lost an optimistic-concurrency race, with full
 * jitter so racing writers spread out instead of colliding again in lockstep. Any other error, and
 * the last ConcurrencyError, propagate.
 */
export const retryOnConcurrencyConflict = async <T>(
  attempt: () => Promise<T>,
  policy: RetryPolicy = defaultRetryPolicy,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<T> => {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof ConcurrencyError) || n >= policy.attempts) throw error;
      commandRetriesTotal.inc({ command: currentCommandType() });
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (n - 1));
      await sleep(Math.random() * ceiling);
    }
  }
};
