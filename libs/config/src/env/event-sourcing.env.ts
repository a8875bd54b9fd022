import { z } from 'zod';
import { integer, oneOf } from './variables.js';

/** The command side: process role, outbox relay, optimistic-concurrency retries. */
export const eventSourcingEnv = z.object({
  APP_ROLE: oneOf(['command', 'query', 'all']).default('all'),
  RELAY_POLL_INTERVAL_MS: integer(50, 600_000).default(1_000),
  RELAY_RECOVERY_INTERVAL_MS: integer(100, 3_600_000).default(30_000),
  RELAY_BATCH_SIZE: integer(1, 1_000).default(100),
  RELAY_CONCURRENCY: integer(1, 64).default(8),
  RELAY_MAX_BACKOFF_MS: integer(100, 3_600_000).default(30_000),
  RELAY_LEASE_TTL_MS: integer(1_000, 600_000).default(10_000),
  COMMAND_RETRY_ATTEMPTS: integer(1, 100).default(8),
  COMMAND_RETRY_BASE_DELAY_MS: integer(1, 10_000).default(10),
  COMMAND_RETRY_MAX_DELAY_MS: integer(1, 60_000).default(500),
  /** Aggregates kept per repository between commands (0: none; see AggregateCache). */
  AGGREGATE_CACHE_SIZE: integer(0, 1_000_000).default(1_000),
  /** How long a command's Idempotency-Key is answered from its record (docs/idempotency.md): 60 s..30 days. */
  IDEMPOTENCY_WINDOW_SECONDS: integer(60, 30 * 86_400).default(86_400),
});
