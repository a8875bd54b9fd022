// Read-your-writes: a query with `minVersion` waits, bounded, until the read model reaches that version.
// Each collection keeps one shared wait per document (DocumentWaits), however many queries wait for it.
// It is settled without any read by the projection of this process announcing what it wrote (and the
// last writes are remembered, so a later query for them reads nothing); writes made by another process
// are seen by one read of the document at growing intervals while anyone waits. A process holds at most
// WaitBudget waits at once; a client that goes away ends its wait. An id whose stream has no events at all
// is answered as absent at once (`streamExists`); a version the stream has not reached yet is waited for,
// as it may still come (the workflow confirming an order after the placement answered version 1).
import { LRUCache } from 'lru-cache';
import { ApplicationError } from '@app/core';

/** What a wait needs of a document (a ReadModelDocument; document-collection.ts imports this file). */
interface VersionedDocument {
  readonly id: string;
  readonly version: number;
}

/**
 * The fallback read of a document nobody announces: first after FALLBACK_READ_MS, then at intervals growing
 * by FALLBACK_BACKOFF (250, 375, 560 ms, ...), so waits piling up behind a projection that fell behind do not
 * multiply the read model's load.
 */
const FALLBACK_READ_MS = 250;
const FALLBACK_BACKOFF = 1.5;
/** Documents whose last write by this process is remembered (references the projection holds anyway). */
const REMEMBERED_WRITES = 10_000;

/** Too many queries of this process wait for a version already (HTTP 503, retry). */
export class TooManyWaitsError extends ApplicationError {
  constructor(limit: number) {
    super(
      'TOO_MANY_WAITS',
      'unavailable',
      `${limit} queries already wait for a minVersion in this process; retry shortly`,
      {
        limit,
      },
    );
  }
}

/** The read model did not reach the version a client asked for within the wait (HTTP 503, retry). */
export class ReadModelBehindError extends ApplicationError {
  constructor(what: string, wanted: number, reached: number | undefined, waitedMs: number) {
    super(
      'READ_MODEL_BEHIND',
      'unavailable',
      `${what} has not reached version ${wanted} after ${waitedMs} ms (it is at ${reached ?? 'none'}); retry shortly`,
      { minVersion: wanted, currentVersion: reached ?? null, waitedMs },
    );
  }
}

/** The client went away while its query waited (nobody reads the answer; the wait's slot is free again). */
export class ClientGoneError extends ApplicationError {
  constructor() {
    super('CLIENT_GONE', 'unavailable', 'The client closed the request while it waited for a version');
  }
}

/**
 * How many waits this process holds open at once, over all collections; past the limit a query is answered
 * at once (503 TOO_MANY_WAITS). `ReadModelsModule` sets the limit from READ_YOUR_WRITES_MAX_WAITS.
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

interface Waiter<T> {
  readonly minVersion: number;
  readonly settle: (document: T | undefined) => void;
}

/** The shared wait of one document: its waiters and the timer of its next fallback read. */
interface SharedWait<T> {
  readonly waiters: Set<Waiter<T>>;
  timer?: NodeJS.Timeout;
  nextReadMs: number;
}

/** The waits of one collection (`collection.waits`), fed by the projection's announcements. */
export class DocumentWaits<T extends VersionedDocument> {
  readonly #waits = new Map<string, SharedWait<T>>();
  /** The last write of each document this process announced (bounded: an LRU, not a Map). */
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

  /** A copy of the document as this process last wrote it, if remembered and at `minVersion` or later. */
  lastWritten(id: string, minVersion = 0): T | undefined {
    const document = this.#written?.get(id);
    return document && document.version >= minVersion ? structuredClone(document) : undefined;
  }

  /** Forgets the writes it remembered (the collection was cleared). */
  forgetWritten(): void {
    this.#written?.clear();
  }

  /** Settles with the document once a write reaches `minVersion`, or with undefined after `ms` or `cancel()`. */
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
        settle: (document) => {
          clearTimeout(timer);
          resolve(document && structuredClone(document));
        },
      };
    });
    shared.waiters.add(waiter);
    const cancel = (): void => {
      if (!shared.waiters.delete(waiter)) return;
      waiter.settle(undefined);
      this.#forgetIfIdle(id, shared);
    };
    const timer = setTimeout(cancel, ms);
    return Object.assign(promise, { cancel });
  }

  /** Documents someone waits for (tests, diagnostics). */
  get size(): number {
    return this.#waits.size;
  }

  #settle(id: string, wait: SharedWait<T>, document: T): void {
    for (const waiter of wait.waiters) {
      if (document.version < waiter.minVersion) continue;
      wait.waiters.delete(waiter);
      waiter.settle(document);
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
        .finally(() => this.#waits.get(id) === wait && this.#scheduleRead(id, wait));
    }, delay);
    wait.timer.unref();
  }

  #forgetIfIdle(id: string, wait: SharedWait<T>): void {
    if (wait.waiters.size > 0 || this.#waits.get(id) !== wait) return;
    clearTimeout(wait.timer);
    this.#waits.delete(id);
  }
}

/** What `readAtLeast` needs of a collection (a DocumentCollection). */
export interface WaitableCollection<T extends VersionedDocument> {
  readonly waits: DocumentWaits<T>;
  get(id: string): Promise<T | undefined>;
}

export interface ReadAtLeastOptions<T> {
  /** The process's wait slots (default: processWaitBudget). */
  readonly budget?: WaitBudget;
  /** Aborted when the client disconnects: the wait ends and gives its slot back at once. */
  readonly signal?: AbortSignal;
  /** Whether the caller may see this document (ownership); one it may not see is absent, before any wait. */
  readonly visible?: (document: T) => boolean;
  /**
   * Whether the stream the document is projected from has any event (the event store's tip: one point read).
   * Asked only when the document is absent: no stream, no version to wait for, so the answer is absent at
   * once. When it fails (event store unreachable), the wait goes on as without it.
   */
  readonly streamExists?: () => Promise<boolean>;
}

/**
 * Returns the document once it reaches `minVersion` (undefined when absent, or not `visible`), or throws
 * ReadModelBehindError after `timeoutMs`. Without `minVersion` it is a plain read.
 */
export const readAtLeast = async <T extends VersionedDocument>(
  what: string,
  collection: WaitableCollection<T>,
  id: string,
  minVersion: number | undefined,
  timeoutMs: number,
  { budget = processWaitBudget, signal, visible = () => true, streamExists }: ReadAtLeastOptions<T> = {},
): Promise<T | undefined> => {
  const shown = (document: T | undefined): T | undefined => (document && visible(document) ? document : undefined);
  if (minVersion === undefined) return shown(await collection.get(id));
  // Ownership first: any version of the document names its owner. Remembered here: no read at all.
  const remembered = collection.waits.lastWritten(id);
  if (remembered && !visible(remembered)) return undefined;
  if (remembered && remembered.version >= minVersion) return remembered;
  if (signal?.aborted) throw new ClientGoneError();
  if (!budget.tryAcquire()) throw new TooManyWaitsError(budget.limit);

  const started = Date.now();
  // Joined before the read, so a write landing between the two is not missed.
  const reached = collection.waits.until(id, minVersion, timeoutMs);
  signal?.addEventListener('abort', reached.cancel, { once: true });
  try {
    const document = await collection.get(id);
    // Reached, or one the caller may not see (answered as absent, before any wait).
    if (document && (!visible(document) || document.version >= minVersion)) return shown(document);
    if (!document && streamExists && !(await streamExists().catch(() => true))) return undefined;
    const written = await reached;
    if (written) return shown(written);
    if (signal?.aborted) throw new ClientGoneError();
    const current = await collection.get(id);
    if (current && current.version >= minVersion) return shown(current);
    throw new ReadModelBehindError(what, minVersion, current?.version, Date.now() - started);
  } finally {
    reached.cancel(); // settled already: nothing happens
    signal?.removeEventListener('abort', reached.cancel);
    budget.release();
  }
};
