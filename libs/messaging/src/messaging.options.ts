/** How integration events travel between modules and services. */
export type TransportOptions =
  | { readonly kind: 'inprocess' }
  | {
      readonly kind: 'kafka';
      readonly brokers: readonly string[];
      /** kafkajs client id (shows in broker logs): the service name. */
      readonly clientId: string;
      /**
       * Put before every topic name (`staging.` -> `staging.orders.order`): several environments (or
       * test runs) on one cluster without seeing each other's events. Empty by default.
       */
      readonly topicPrefix: string;
      /** Consumer group of this process's handlers, used exactly as given (no suffix). */
      readonly groupId: string;
      /** Partitions of each topic created at start-up. */
      readonly partitions: number;
      /**
       * `retention.ms` of the topics created at start-up; -1 (the default): kept forever, so the topics are
       * the durable log a service added later builds its views from. Existing topics are left as they are.
       */
      readonly retentionMs: number;
      /** Attempts per message before it goes to the dead-letter topic. */
      readonly handlerAttempts: number;
      /** First retry delay; doubles per attempt. */
      readonly retryBaseDelayMs: number;
      /** TLS to the brokers (absent: plaintext). */
      readonly ssl?: {
        readonly caFile?: string;
        readonly certFile?: string;
        readonly keyFile?: string;
        readonly rejectUnauthorized: boolean;
      };
      /** SASL authentication (absent: none). */
      readonly sasl?: {
        readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
        readonly username: string;
        readonly password: string;
      };
    };

/** Readiness of the event transport (producer and consumer connected); absent for in-process delivery. */
export abstract class TransportHealth {
  /**
   * Throws, with the reason, when the transport cannot deliver (a `TransportNotReadyError` carries details,
   * such as the consumer lag while catching up); resolves with what is worth showing otherwise.
   */
  abstract check(): Promise<void | Readonly<Record<string, unknown>>>;
}

/** The transport is not ready yet, with details for the readiness report. */
export class TransportNotReadyError extends Error {
  constructor(
    message: string,
    readonly details: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = 'TransportNotReadyError';
  }
}
