// The client side of the chaos suite: what a well-behaved API consumer does under faults. Each logical command
// gets one Idempotency-Key and is sent again (bounded by a time budget, exponential backoff with jitter) on a
// network error, a 5xx, or a 409 that says "not now" (key in flight, concurrency conflict), always with the
// same key and the same body. Commands are issued at a fixed rate (open loop: a slow answer does not slow the
// rate down), as real clients do. Plain fetch rather than the suites' supertest client: a refused connection,
// a timeout or an undocumented 502 is data here, not a contract failure.
import { randomUUID } from 'node:crypto';

export interface RetryPolicy {
  /** From the first attempt: no attempt starts after this. */
  readonly budgetMs: number;
  /** One attempt's timeout (the answer may be lost while the command still lands: that is the point). */
  readonly attemptTimeoutMs: number;
  readonly firstBackoffMs: number;
  readonly maxBackoffMs: number;
}

/** 409 codes that mean "the same request, later": retried with the same key. */
export const RETRIABLE_CONFLICTS = ['IDEMPOTENCY_KEY_IN_FLIGHT', 'CONCURRENCY_CONFLICT'];

export interface CommandResult {
  readonly key: string;
  /** ms since the load started. */
  readonly issuedAt: number;
  readonly settledAt: number;
  /** Answered with the expected success status (by any attempt). */
  readonly accepted: boolean;
  /** Status (or network error) of each attempt, in order: `201`, `503`, `ECONNREFUSED`, `TimeoutError`, ... */
  readonly attempts: string[];
  /** Body of the last answer with a status (success or final refusal). */
  readonly body: unknown;
  /** Every `id` the successful answers carried (one logical command: at most one distinct id expected). */
  readonly answeredIds: string[];
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Why fetch failed, as short as a status: the system error code when there is one. */
const failureOf = (error: unknown): string => {
  const { name, cause } = error as Error & { cause?: { code?: string; name?: string } };
  return cause?.code ?? cause?.name ?? name;
};

/**
 * Sends one logical command (POST `url` with `body`) until it is answered with `success`, refused for good, or
 * the budget is spent. `since` is the load's start, for the timestamps.
 */
export const sendWithRetries = async (
  url: string,
  body: unknown,
  success: number,
  policy: RetryPolicy,
  since: number,
): Promise<CommandResult> => {
  const key = randomUUID();
  const issued = Date.now();
  const attempts: string[] = [];
  const answeredIds: string[] = [];
  let last: unknown;
  for (let attempt = 0; ; attempt++) {
    let retriable = true;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(policy.attemptTimeoutMs),
      });
      const text = await response.text();
      attempts.push(String(response.status));
      try {
        last = JSON.parse(text);
      } catch {
        last = text;
      }
      const code = (last as { code?: string } | undefined)?.code;
      if (response.status === success) {
        const id = (last as { id?: string }).id;
        if (id) answeredIds.push(id);
        return {
          key,
          issuedAt: issued - since,
          settledAt: Date.now() - since,
          accepted: true,
          attempts,
          body: last,
          answeredIds,
        };
      }
      retriable = response.status >= 500 || (response.status === 409 && RETRIABLE_CONFLICTS.includes(code ?? ''));
    } catch (error) {
      attempts.push(failureOf(error));
    }
    const backoff = Math.min(policy.firstBackoffMs * 2 ** attempt, policy.maxBackoffMs) * (0.5 + Math.random() / 2);
    if (!retriable || Date.now() + backoff - issued > policy.budgetMs) {
      return {
        key,
        issuedAt: issued - since,
        settledAt: Date.now() - since,
        accepted: false,
        attempts,
        body: last,
        answeredIds,
      };
    }
    await sleep(backoff);
  }
};

/**
 * Calls `issue(i)` for i = 0, 1, 2, ... at `perSecond` (the i-th at `start + i / perSecond`, whatever the
 * earlier ones still do) until `stop()` says so; resolves with every result once all have settled.
 */
export const atFixedRate = async <T>(
  perSecond: number,
  stop: () => boolean,
  issue: (i: number) => Promise<T>,
): Promise<T[]> => {
  const start = Date.now();
  const pending: Promise<T>[] = [];
  for (let i = 0; !stop(); i++) {
    const wait = start + (i * 1_000) / perSecond - Date.now();
    if (wait > 0) await sleep(wait);
    if (stop()) break;
    pending.push(issue(i));
  }
  return Promise.all(pending);
};
