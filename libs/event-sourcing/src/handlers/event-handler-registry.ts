import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, Reflector } from '@nestjs/core';
import { batchCause, handledBefore, PartialBatchError, settleLag, type RecordedEvent } from '@app/core';
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
    settleLag.observe(event.metadata.correlationId);
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
   * the events before it, so that "handled by every handler" holds for that prefix.
   *
   * `streamsAtOnce` > 1: a one-event-at-a-time handler works on that many of the batch's streams at once,
   * each stream in order, so that the commands a policy sends for unrelated streams do not wait for each
   * other. The prefix still holds, but events of other streams after the failing one may have been
   * handled too, and a caller that redelivers from the index repeats them (harmless, handlers are
   * idempotent, but a cost after every failure): for callers that redeliver whole streams anyway (the
   * in-process transport, whose failed publish the relay retries stream by stream). Default 1: exact.
   * @throws PartialBatchError whose index is the first event not handled by every handler
   */
  async dispatchBatch(
    events: readonly RecordedEvent[],
    only?: (options: EventHandlerOptions) => boolean,
    { streamsAtOnce = 1 }: { streamsAtOnce?: number } = {},
  ): Promise<void> {
    for (const event of events) settleLag.observe(event.metadata.correlationId); // admission's signal
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
          streamsAtOnce,
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

  async #runBatch(handler: EventHandler, events: readonly RecordedEvent[], streamsAtOnce: number): Promise<void> {
    if (handler.handleBatch) return handler.handleBatch(events);
    const lanes: number[][] = [];
    if (streamsAtOnce <= 1) lanes.push(events.map((_, index) => index));
    else {
      const byStream = new Map<string, number[]>();
      events.forEach((event, index) => {
        const lane = byStream.get(event.streamId);
        if (lane) lane.push(index);
        else byStream.set(event.streamId, [index]);
      });
      lanes.push(...byStream.values());
    }
    let failure: { index: number; cause: unknown } | undefined;
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let lane = next++; lane < lanes.length; lane = next++) {
        for (const index of lanes[lane]!) {
          if (failure && index > failure.index) break; // not needed: redelivered with the rest
          const event = events[index]!;
          try {
            await runWithCorrelation(event.metadata.correlationId, () => handler.handle(event));
          } catch (error) {
            if (!failure || index < failure.index) failure = { index, cause: error };
            break; // a stream's later events wait for this one
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(streamsAtOnce, lanes.length) }, worker));
    if (failure) throw new PartialBatchError(failure.index, failure.cause);
  }
}
