import { Counter, Gauge, Histogram } from 'prom-client';

/**
 * The command side's Prometheus metrics (prom-client's default registry: one set per process, served at
 * GET /metrics). Labels stay bounded: command class names, fixed outcomes.
 */
export const commandsTotal = new Counter({
  name: 'commands_total',
  help: 'Commands executed, by command type and outcome (accepted, conflict, rejected, failed)',
  labelNames: ['command', 'outcome'] as const,
});

export const commandRetriesTotal = new Counter({
  name: 'command_retries_total',
  help: 'Commands re-run after losing an optimistic-concurrency race, by command type',
  labelNames: ['command'] as const,
});

export const eventStoreAppendSeconds = new Histogram({
  name: 'event_store_append_duration_seconds',
  help: 'Duration of one append to the event store (events + outbox entry, one batch), by outcome',
  labelNames: ['outcome'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
});

/** What an outbox relay knows is still to be published: its own appends, and what its last scan found. */
export interface OutboxBacklog {
  readonly entries: number;
  /** Time the oldest of them was appended (epoch ms); undefined when there is none. */
  readonly oldestAt: number | undefined;
}

const relays = new Set<{ readonly backlog: OutboxBacklog }>();

/** A running relay reports its backlog at each scrape (no store query: what it holds in memory). */
export const reportOutboxBacklog = (relay: { readonly backlog: OutboxBacklog }): (() => void) => {
  relays.add(relay);
  return () => relays.delete(relay);
};

const backlogs = (): OutboxBacklog[] => [...relays].map((relay) => relay.backlog);

new Gauge({
  name: 'outbox_backlog_entries',
  help: 'Outbox entries (appends) known to this process and not yet published to the event transport',
  collect() {
    this.set(backlogs().reduce((sum, backlog) => sum + backlog.entries, 0));
  },
});

new Gauge({
  name: 'outbox_oldest_entry_age_seconds',
  help: 'Age of the oldest unpublished outbox entry known to this process (0 when none)',
  collect() {
    const oldest = Math.min(...backlogs().map((backlog) => backlog.oldestAt ?? Infinity));
    this.set(Number.isFinite(oldest) ? Math.max(0, (Date.now() - oldest) / 1000) : 0);
  },
});
