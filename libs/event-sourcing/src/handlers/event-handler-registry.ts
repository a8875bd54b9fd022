import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, Reflector } from '@nestjs/core';
import { batchCause, handledBefore, PartialBatchError, type RecordedEvent } from '@app/core';
import { runWithCorrelation } from '../repository/correlation.js';
import { EVENT_SOURCING_OPTIONS, type EventSourcingOptions } from '../nest/event-sourcing.options.js';
import { EVENT_HANDLER, type EventHandler, type EventHandlerOptions } from './event-handler.js';
import { HANDLER_KINDS_BY_ROLE } from './module-handlers.js';

interface Registration {
  readonly options: EventHandlerOptions;
  readonly handler: EventHandler;
}

/**
 * Every @HandlesEvents provider of the application, found at start-up. Transports (in-process or
 * Kafka) deliver events here; the registry awaits each interested handler in turn.
 */
@Injectable()
export class EventHandlerRegistry implements OnModuleInit {
  private readonly logger = new Logger(EventHandlerRegistry.name);
  #registrations: Registration[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly reflector: Reflector,
    @Inject(EVENT_SOURCING_OPTIONS) private readonly options: Pick<EventSourcingOptions, 'role'>,
  ) {}

  onModuleInit(): void {
    this.#registrations = this.discovery
      .getProviders()
      .filter((wrapper) => wrapper.metatype && wrapper.instance)
      .flatMap((wrapper) => {
        const options = this.reflector.get<EventHandlerOptions | undefined>(EVENT_HANDLER, wrapper.metatype!);
        return options ? [{ options, handler: wrapper.instance as EventHandler }] : [];
      })
      .filter(({ options }) => (HANDLER_KINDS_BY_ROLE[this.options.role] as readonly string[]).includes(options.kind));
    for (const { options } of this.#registrations) {
      this.logger.log(`Event handler ${options.name} <- ${options.events.join(', ')}`);
    }
  }

  get handlers(): readonly EventHandlerOptions[] {
    return this.#registrations.map((r) => r.options);
  }

  /** Event types some handler of this application wants (a Kafka consumer subscribes to their topics). */
  get subscribedTypes(): ReadonlySet<string> {
    return new Set(this.#registrations.flatMap((r) => r.options.events));
  }

  /** The handler instance registered under `name`. */
  handler(name: string): EventHandler | undefined {
    return this.#registrations.find((r) => r.options.name === name)?.handler;
  }

  /** Runs every handler of the event's type, in registration order; the first failure propagates. */
  async dispatch(event: RecordedEvent, only?: (options: EventHandlerOptions) => boolean): Promise<number> {
    let handled = 0;
    for (const { options, handler } of this.#registrations) {
      if (!options.events.includes(event.type) || (only && !only(options))) continue;
      await handler.handle(event);
      handled++;
    }
    return handled;
  }

  /**
   * Runs every handler over the events of its types, in order: one `handleBatch` call for handlers that
   * have it, one `handle` per event for the others. After a failure, the handlers that follow run only on
   * the events before it, so that "handled by every handler" holds for exactly that prefix.
   * @throws PartialBatchError whose index is the first event not handled by every handler
   */
  async dispatchBatch(
    events: readonly RecordedEvent[],
    only?: (options: EventHandlerOptions) => boolean,
  ): Promise<void> {
    let limit = events.length;
    let failed = false;
    let firstCause: unknown;
    for (const { options, handler } of this.#registrations) {
      if (only && !only(options)) continue;
      const indexes: number[] = [];
      for (let i = 0; i < limit; i++) if (options.events.includes(events[i]!.type)) indexes.push(i);
      if (indexes.length === 0) continue;
      try {
        await this.#runBatch(
          handler,
          indexes.map((i) => events[i]!),
        );
      } catch (error) {
        const at = indexes[Math.min(handledBefore(error), indexes.length - 1)]!;
        if (!failed || at < limit) {
          limit = at;
          firstCause = batchCause(error);
          failed = true;
        }
      }
    }
    if (failed) throw new PartialBatchError(limit, firstCause);
  }

  async #runBatch(handler: EventHandler, events: readonly RecordedEvent[]): Promise<void> {
    if (handler.handleBatch) return handler.handleBatch(events);
    for (const [index, event] of events.entries()) {
      try {
        await runWithCorrelation(event.metadata.correlationId, () => handler.handle(event));
      } catch (error) {
        throw new PartialBatchError(index, error);
      }
    }
  }
}
