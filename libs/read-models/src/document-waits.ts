import { LRUCache } from 'lru-cache';

/** What a wait needs of a document (a ReadModelDocument; declared here so this file imports nothing else). */
interface VersionedDocument {
  readonly id: string;
  readonly version: number;
}

/**
 * When a document someone waits for is read, for writes made by another process (one read per document):
 * first after FALLBACK_READ_MS, then at intervals growing by FALLBACK_BACKOFF, so that waits piling up
 * behind a projection that fell behind do not multiply the read model's load (250, 375, 560 ms, ...).
 */
const FALLBACK_READ_MS = 250;
const FALLBACK_BACKOFF = 1.5;
/**
 * Documents whose last write by this process a wait remembers (references to what the projection wrote,
 * which its projector remembers too): a query for a version this process wrote already needs no read.
 */
const REMEMBERED_WRITES = 10_000;

interface Waiter<T> {
  readonly minVersion: number;
  readonly resolve: (document: T | undefined) => void;
}

interface SharedWait<T> {
  readonly waiters: Set<Waiter<T>>;
  timer?: NodeJS.Timeout;
  /** Delay before the next fallback read. */
  nextReadMs: number;
}

/**
 * The read-your-writes waits of one collection: one shared wait per document, however many queries wait
 * for it. A projection in this process announces each document it wrote (`written`), which hands it to
 * every waiter it satisfies at once, with no read, and is remembered for the queries that come later. For writes made elsewhere (another replica's
 * partitions), the document is read while anyone waits for it, at growing intervals: one read per
 * document, not per waiter.
 */
export class DocumentWaits<T extends VersionedDocument> {
  readonly #waits = new Map<string, SharedWait<T>>();
  /** The last write of each document this process announced (bounded; lru-cache, not a Map: see AggregateCache). */
  readonly #written: LRUCache<string, T> | undefined;

  constructor(
    private readonly read: (id: string) => Promise<T | undefined>,
    private readonly fallbackReadMs = FALLBACK_READ_MS,
    rememberedWrites = REMEMBERED_WRITES,
  ) {
    this.#written = rememberedWrites > 0 ? new LRUCache({ max: rememberedWrites }) : undefined;
  }

  /** A write of `document` is done (the document must not be changed afterwards). */
  written(document: T): void {
    this.#written?.set(document.id, document);
    const wait = this.#waits.get(document.id);
    if (wait) this.#settle(document.id, wait, document);
  }

  /**
   * A copy of the document as this process last wrote it, if remembered and at `minVersion` or later:
   * the store holds at least that version (a newer one if another process wrote since).
   */
  lastWritten(id: string, minVersion = 0): T | undefined {
    const document = this.#written?.get(id);
    return document && document.version >= minVersion ? structuredClone(document) : undefined;
  }

  /** Forgets the writes it remembered (the collection was cleared). */
  forgetWritten(): void {
    this.#written?.clear();
  }

  /**
   * Settles with the document once a write reaches `minVersion`, or with undefined after `ms`.
   * `cancel()` stops waiting (settling with undefined).
   */
  until(id: string, minVersion: number, ms: number): Promise<T | undefined> & { cancel(): void } {
    let wait = this.#waits.get(id);
    if (!wait) {
      wait = { waiters: new Set(), nextReadMs: this.fallbackReadMs };
      this.#waits.set(id, wait);
      this.#scheduleRead(id, wait);
    }
    const shared = wait;
    let waiter!: Waiter<T>;
    const promise = new Promise<T | undefined>((resolve) => {
      waiter = {
        minVersion,
        resolve: (document) => {
          clearTimeout(timer);
          resolve(document && structuredClone(document));
        },
      };
    });
    shared.waiters.add(waiter);
    const stop = (): void => {
      if (!shared.waiters.delete(waiter)) return;
      waiter.resolve(undefined);
      this.#forgetIfIdle(id, shared);
    };
    const timer = setTimeout(stop, ms);
    return Object.assign(promise, { cancel: stop });
  }

  /** Documents someone waits for (tests, diagnostics). */
  get size(): number {
    return this.#waits.size;
  }

  #settle(id: string, wait: SharedWait<T>, document: T): void {
    for (const waiter of wait.waiters) {
      if (document.version < waiter.minVersion) continue;
      wait.waiters.delete(waiter);
      waiter.resolve(document);
    }
    this.#forgetIfIdle(id, wait);
  }

  #scheduleRead(id: string, wait: SharedWait<T>): void {
    const delay = wait.nextReadMs;
    wait.nextReadMs = delay * FALLBACK_BACKOFF;
    wait.timer = setTimeout(() => {
      this.read(id)
        .then((document) => document && this.#settle(id, wait, document))
        .catch(() => undefined) // the store is down: the waiters time out, or a write is announced
        .finally(() => {
          if (this.#waits.get(id) === wait) this.#scheduleRead(id, wait);
        });
    }, delay);
    wait.timer.unref();
  }

  #forgetIfIdle(id: string, wait: SharedWait<T>): void {
    if (wait.waiters.size > 0 || this.#waits.get(id) !== wait) return;
    clearTimeout(wait.timer);
    this.#waits.delete(id);
  }
}

/**
 * How many read-your-writes waits this process holds open at once, over all collections. Each wait
 * costs a timer and a pending request; past the limit a query is answered at once (503) instead of
 * letting clients pile up waits. `ReadModelsModule` sets the limit from READ_YOUR_WRITES_MAX_WAITS.
 */
export class WaitBudget {
  #open = 0;

  constructor(public limit: number) {}

  /** Takes one wait; false when the limit is reached (nothing taken). */
  tryAcquire(): boolean {
    if (this.#open >= this.limit) return false;
    this.#open++;
    return true;
  }

  release(): void {
    this.#open = Math.max(0, this.#open - 1);
  }

  /** Waits open now (tests, diagnostics). */
  get inUse(): number {
    return this.#open;
  }
}

/** The budget of this process. */
export const processWaitBudget = new WaitBudget(1_000);
