import type { RetryPolicy } from '../repository/retry.js';
import type { OutboxRelayOptions } from '../relay/outbox-relay.options.js';

export type EventStoreOptions =
  | { readonly kind: 'memory' }
  | {
      readonly kind: 'cosmos';
      readonly endpoint: string;
      /** Account key; absent: Microsoft Entra ID (DefaultAzureCredential) authenticates instead. */
      readonly key?: string;
      readonly databaseId: string;
      readonly containerId: string;
      /** PEM file to trust for this client only (self-signed local servers). */
      readonly caFile?: string;
    };

/**
 * Which side of the contexts a process runs: `command` (HTTP commands, policies, outbox relay),
 * `query` (HTTP queries, projections) or `all`.
 */
export type AppRole = 'command' | 'query' | 'all';

export interface EventSourcingOptions {
  readonly role: AppRole;
  readonly store: EventStoreOptions;
  readonly relay: OutboxRelayOptions;
  readonly commandRetry: RetryPolicy;
  /** Aggregates each repository keeps between commands (0: none; see AggregateCache). Default 1,000. */
  readonly aggregateCacheSize?: number;
  /** How long a keyed command (Idempotency-Key) is answered from its record. Default 24 h. */
  readonly idempotencyWindowMs?: number;
  /**
   * Replay every projection from the event store before serving: for read models that do not
   * survive a restart (in memory) over an event store that does.
   */
  readonly replayProjectionsOnStart: boolean;
}

export const EVENT_SOURCING_OPTIONS = Symbol('EVENT_SOURCING_OPTIONS');

/** Injection token of the application's `Clock` (system clock; tests pin it). */
export const CLOCK = Symbol('CLOCK');
