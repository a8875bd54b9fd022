import { Inject, Injectable } from '@nestjs/common';
import type { AggregateRoot, DomainEvent } from '@app/core';
import { AggregateCache } from '../repository/aggregate-cache.js';
import {
  AggregateRepository,
  DEFAULT_AGGREGATE_CACHE_SIZE,
  DEFAULT_IDEMPOTENCY_WINDOW_MS,
  type AggregateType,
} from '../repository/aggregate-repository.js';
import { OutboxRelay } from '../relay/outbox-relay.js';
import { EventStore } from '../store/event-store.js';
import { EventTypeRegistry, type StoredEventType } from '../store/event-types.js';
import { EVENT_SOURCING_OPTIONS, type EventSourcingOptions } from './event-sourcing.options.js';

/** Builds repositories wired to this application's store, event types, relay and retry policy. */
@Injectable()
export class AggregateRepositories {
  constructor(
    private readonly store: EventStore,
    private readonly eventTypes: EventTypeRegistry,
    private readonly relay: OutboxRelay,
    @Inject(EVENT_SOURCING_OPTIONS) private readonly options: EventSourcingOptions,
  ) {}

  for<A extends AggregateRoot<E>, E extends DomainEvent>(
    type: AggregateType<A>,
    eventTypes: readonly StoredEventType[],
  ): AggregateRepository<A, E> {
    this.eventTypes.register(eventTypes);
    return new AggregateRepository<A, E>(
      this.store,
      this.eventTypes,
      type,
      (result) => this.relay.appended(result),
      this.options.commandRetry,
      new AggregateCache<A>(this.options.aggregateCacheSize ?? DEFAULT_AGGREGATE_CACHE_SIZE),
      { windowMs: this.options.idempotencyWindowMs ?? DEFAULT_IDEMPOTENCY_WINDOW_MS },
    );
  }
}
