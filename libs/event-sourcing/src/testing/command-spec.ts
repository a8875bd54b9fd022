import { randomUUID } from 'node:crypto';
import type { AggregateRoot, DomainEvent, RecordedEvent } from '@app/core';
import { externalCommand, type CommandContext } from '../repository/command-context.js';
import { AggregateRepository, type AggregateType } from '../repository/aggregate-repository.js';
import { NO_STREAM, type AppendResult, type EventToAppend, type ExpectedVersion } from '../store/event-store.js';
import { EventTypeRegistry, type StoredEventType } from '../store/event-types.js';
import { InMemoryEventStore } from '../store/in-memory-event-store.js';

/** An event as a test states it: in which stream, what happened. */
export interface StreamEvent {
  readonly streamId: string;
  readonly type: string;
  readonly data: DomainEvent['data'];
}

/**
 * Given events / when a command handler (or a policy) runs / then the events it appended, or its error,
 * over the in-memory event store and real repositories (no mocks):
 *
 *   const spec = new CommandSpec(ORDER_EVENT_TYPES);
 *   const handler = new CancelOrderHandler(spec.repository(orderType), clock);
 *   await spec.given(orderStream(id), [placed]);
 *   await spec.when(() => handler.execute(command));
 *   spec.then([{ streamId: orderStream(id), type: 'OrderCancelled', data: { ... } }]);
 */
export class CommandSpec {
  readonly store = new InMemoryEventStore();
  readonly eventTypes = new EventTypeRegistry();
  readonly #appended: StreamEvent[] = [];
  #outcome: { error?: unknown } | undefined;
  #recording = false;

  constructor(...eventTypes: (readonly StoredEventType[])[]) {
    for (const types of eventTypes) this.eventTypes.register(types);
    const append = this.store.appendToStream.bind(this.store);
    this.store.appendToStream = async (
      streamId: string,
      events: readonly EventToAppend[],
      options: { expectedVersion: ExpectedVersion },
    ): Promise<AppendResult> => {
      const result = await append(streamId, events, options);
      if (this.#recording) this.#appended.push(...events.map(({ type, data }) => ({ streamId, type, data })));
      return result;
    };
  }

  /** A repository of this spec's store (what the handler under test gets injected). */
  repository<A extends AggregateRoot<E>, E extends DomainEvent>(type: AggregateType<A>): AggregateRepository<A, E> {
    return new AggregateRepository<A, E>(this.store, this.eventTypes, type);
  }

  /** History: appends the events to the stream (not part of what `then` checks). */
  async given<E extends DomainEvent>(streamId: string, events: readonly E[]): Promise<RecordedEvent<E>[]> {
    const { currentVersion } = await this.store.readStream(streamId);
    const context = externalCommand();
    const result = await this.store.appendToStream(
      streamId,
      events.map(({ type, data }) => ({
        type,
        schemaVersion: this.eventTypes.schemaVersionOf(type),
        data,
        metadata: {
          eventId: randomUUID(),
          correlationId: context.correlationId,
          causationId: context.causationId,
          occurredAt: new Date().toISOString(),
        },
      })),
      { expectedVersion: currentVersion === 0 ? NO_STREAM : currentVersion },
    );
    return result.events.map((event) => event as RecordedEvent<E>);
  }

  /** Runs the command (or delivers the event); what it appends from now on is what `then` checks. */
  async when<T>(run: () => Promise<T>): Promise<T | undefined> {
    this.#recording = true;
    try {
      const result = await run();
      this.#outcome = {};
      return result;
    } catch (error) {
      this.#outcome = { error };
      return undefined;
    }
  }

  /** The events appended by `when`, in order. Fails if `when` threw. */
  then(expected: readonly StreamEvent[]): void {
    if (!this.#outcome) throw new Error('CommandSpec: call when() before then()');
    if (this.#outcome.error) throw this.#outcome.error;
    expect(this.#appended).toEqual(expected);
  }

  /** `when` appended nothing (an idempotent repeat, a no-op). */
  thenNothingHappens(): void {
    this.then([]);
  }

  /** `when` failed with this error code and appended nothing. */
  thenFails(code: string): void {
    expect(this.#outcome?.error).toMatchObject({ code });
    expect(this.#appended).toEqual([]);
  }
}

/** The context of an HTTP command, for handler specs. */
export const fromOutside = (): CommandContext => externalCommand();
