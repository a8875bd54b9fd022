// Readiness of a Kafka microservice's consumer: ready while it is a joined member of its group. Nest's own
// `status` stays at `rebalancing` or `crashed` even after the consumer joined again, so this follows
// kafkajs' consumer events instead (GROUP_JOIN, REBALANCING, CRASH with or without restart, STOP,
// DISCONNECT), starting from the status Nest replays when it is created after `startAllMicroservices()`.
import type { INestMicroservice } from '@nestjs/common';
import type { Consumer } from 'kafkajs';

export type KafkaConsumerState =
  'starting' | 'joined' | 'rebalancing' | 'restarting' | 'crashed' | 'stopped' | 'disconnected';

/** Ready while `joined`. Create it after `startAllMicroservices()` (kafkajs' `run` has joined by then). */
export class KafkaConsumerMonitor {
  #state: KafkaConsumerState = 'starting';
  #lastError: string | undefined;
  #onFatalCrash: ((error: string) => void) | undefined;
  readonly #removers: (() => void)[] = [];

  constructor(microservice: INestMicroservice) {
    const [, consumer] = microservice.unwrap<[unknown, Consumer, unknown]>();
    const subscription = microservice.status.subscribe((status) => {
      if (this.#state !== 'starting') return;
      if (status === 'connected') this.#state = 'joined';
      else if (status === 'crashed' || status === 'disconnected' || status === 'stopped') this.#state = status;
    });
    subscription.unsubscribe();
    const { events } = consumer;
    this.#removers.push(
      consumer.on(events.GROUP_JOIN, () => (this.#state = 'joined')),
      consumer.on(events.REBALANCING, () => (this.#state = 'rebalancing')),
      consumer.on(events.CRASH, ({ payload }) => {
        this.#lastError = payload.error?.message;
        this.#state = payload.restart ? 'restarting' : 'crashed';
        if (!payload.restart) this.#onFatalCrash?.(this.#lastError ?? 'unknown error');
      }),
      consumer.on(events.STOP, () => (this.#state = 'stopped')),
      consumer.on(events.DISCONNECT, () => {
        if (this.#state !== 'crashed' && this.#state !== 'restarting') this.#state = 'disconnected';
      }),
    );
  }

  get state(): KafkaConsumerState {
    return this.#state;
  }

  get ready(): boolean {
    return this.#state === 'joined';
  }

  /** Called when the consumer crashed and kafkajs will not restart it. */
  onFatalCrash(callback: (error: string) => void): void {
    this.#onFatalCrash = callback;
  }

  /** Message of the last crash, if any. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  close(): void {
    for (const remove of this.#removers.splice(0)) remove();
  }
}
