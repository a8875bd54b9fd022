/**
 * The events this process sees delivered, for live feeds to web clients (Server-Sent Events). The transport
 * publishes here after its handlers ran: the in-process publisher (monolith) with a sequence of its own, a
 * per-instance broadcast Kafka consumer (services) with each message's partition and offset. A position is
 * (partition, offset); offsets grow within a partition, so a vector of positions is a resumable place in a
 * feed of many streams (Kafka offsets stay valid across instances and restarts; the in-process sequence is
 * named after the process's boot, so a restarted process recognises it as not its own).
 */
import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { RecordedEvent } from '@app/core';

export interface LivePosition {
  /** `orders.order/2` for a Kafka partition, `local-<boot id>` for a process's in-process deliveries. */
  readonly partition: string;
  readonly offset: number;
}

export interface LiveEvent {
  readonly event: RecordedEvent;
  readonly position: LivePosition;
}

export type LiveListener = (events: readonly LiveEvent[]) => void;

@Injectable()
export class LiveEvents {
  private readonly logger = new Logger(LiveEvents.name);
  readonly #listeners = new Set<LiveListener>();
  readonly #local = `local-${randomUUID().slice(0, 8)}`;
  #sequence = 0;
  /** Sources that will deliver but do not yet (a broadcast consumer joining): feeds would miss events. */
  readonly #starting = new Set<string>();

  /** Whether every source delivers: live feeds open only then. */
  get ready(): boolean {
    return this.#starting.size === 0;
  }

  /** `source` will deliver events, but not yet. */
  starting(source: string): void {
    this.#starting.add(source);
  }

  /** `source` delivers every event from now on. */
  started(source: string): void {
    this.#starting.delete(source);
  }

  /** Whether any feed listens: a source may skip the work of publishing (decoding, upcasting) while none does. */
  get listening(): boolean {
    return this.#listeners.size > 0;
  }

  /** Events delivered in this process by the in-process transport, in delivery order. */
  publishLocal(events: readonly RecordedEvent[]): void {
    if (!this.listening) return;
    this.publish(events.map((event) => ({ event, position: { partition: this.#local, offset: ++this.#sequence } })));
  }

  /** Events with their positions (a broadcast consumer's batch). Listeners never fail the caller. */
  publish(events: readonly LiveEvent[]): void {
    for (const listener of this.#listeners) {
      try {
        listener(events);
      } catch (error) {
        this.logger.error(`A live feed failed on delivered events: ${(error as Error).message}`);
      }
    }
  }

  subscribe(listener: LiveListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
