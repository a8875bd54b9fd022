/**
 * Connecting to a dependency (event store, read store, broker) without making the process depend on it
 * being up: the first attempt runs at start-up; if it fails, attempts go on in the background every
 * `retryMs` until one succeeds, and the process serves meanwhile what needs no such dependency. The log
 * shows one line per state change (unavailable and retrying, connected again), never one per attempt and
 * never a stack trace. An error `fatal` calls hopeless (a rejected key) stops the retries and is reported
 * once to `onFatal`. Written by hand: no kept library retries a Nest start-up step in the background.
 */

/** The few logger methods used (a Nest Logger fits; this file imports nothing from Nest). */
export interface DependencyLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface DependencyConnectionOptions {
  /** Pause between two failed attempts. */
  readonly retryMs?: number;
  /** True for an error no retry can fix (bad credentials, a malformed address): retries stop. */
  readonly fatal?: (error: unknown) => boolean;
  /** Called once with a fatal error instead of logging it (e.g. to exit with one line naming the setting). */
  readonly onFatal?: (error: unknown) => void;
}

export type DependencyState = 'connecting' | 'retrying' | 'connected' | 'failed' | 'stopped';

/** Default pause between attempts. */
export const DEPENDENCY_RETRY_MS = 2_000;
/** How long a start-up waits for a dependency's first attempt before it goes on without it. */
export const FIRST_ATTEMPT_WAIT_MS = 3_000;

/** First line of an error's message, bounded: SDK errors carry multi-line diagnostics. */
export const oneLine = (error: unknown, max = 240): string => {
  const text = (error instanceof Error ? error.message : String(error)).trim().split('\n')[0] ?? '';
  return text.length > max ? `${text.slice(0, max)}...` : text;
};

export class DependencyConnection {
  #state: DependencyState = 'connecting';
  #lastError: string | undefined;
  #attempts = 0;
  #timer: NodeJS.Timeout | undefined;
  #resolveConnected!: () => void;
  /** Settles once an attempt succeeded (never rejects: stopped or failed leave it pending). */
  readonly connected = new Promise<void>((resolve) => (this.#resolveConnected = resolve));

  constructor(
    /** Shown in logs and readiness: `Kafka`, `Cosmos DB event store`, ... */
    readonly name: string,
    private readonly attempt: () => Promise<void>,
    private readonly logger: DependencyLogger,
    private readonly options: DependencyConnectionOptions = {},
  ) {}

  get state(): DependencyState {
    return this.#state;
  }

  get isConnected(): boolean {
    return this.#state === 'connected';
  }

  /** Why the last attempt failed, in one line. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  get retryMs(): number {
    return this.options.retryMs ?? DEPENDENCY_RETRY_MS;
  }

  /**
   * Runs the first attempt; resolves after it (true: connected) or after `waitMs` (default: no bound),
   * whichever comes first, so that a slow failure (a driver's own timeouts and retries) does not hold the
   * process's start-up; the attempt goes on, and later ones run in the background.
   */
  async start(waitMs?: number): Promise<boolean> {
    const first = this.#try();
    if (waitMs === undefined) await first;
    else {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([first, new Promise<void>((done) => (timer = setTimeout(done, waitMs)))]);
      clearTimeout(timer);
      // No answer yet: the process goes on without it, so say so now (a later failure says nothing more,
      // the success says it is back), not only when the driver's own timeout ends the attempt.
      if (this.#state === 'connecting') {
        this.#state = 'retrying';
        this.logger.warn(
          `${this.name} unavailable (no answer within ${waitMs / 1000} s); ` +
            `retrying every ${this.retryMs / 1000} s in the background`,
        );
      }
    }
    return this.isConnected;
  }

  /** Stops the background attempts (shutdown); an attempt in flight finishes but is not followed by another. */
  stop(): void {
    if (this.#state !== 'connected') this.#state = 'stopped';
    clearTimeout(this.#timer);
  }

  async #try(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'connected') return;
    this.#attempts += 1;
    try {
      await this.attempt();
    } catch (error) {
      if ((this.#state as DependencyState) === 'stopped') return;
      this.#lastError = oneLine(error);
      if (this.options.fatal?.(error)) {
        this.#state = 'failed';
        // onFatal says it in its own words (naming the setting); else this is the one line.
        if (this.options.onFatal) this.options.onFatal(error);
        else this.logger.error(`${this.name}: ${this.#lastError}`);
        return;
      }
      if (this.#state === 'connecting') {
        this.logger.warn(
          `${this.name} unavailable (${this.#lastError}); retrying every ${this.retryMs / 1000} s in the background`,
        );
      }
      this.#state = 'retrying';
      this.#timer = setTimeout(() => void this.#try(), this.retryMs);
      this.#timer.unref();
      return;
    }
    if ((this.#state as DependencyState) === 'stopped') return;
    if (this.#state === 'retrying') this.logger.log(`${this.name} connected after ${this.#attempts} attempts`);
    this.#state = 'connected';
    this.#lastError = undefined;
    this.#resolveConnected();
  }
}
