/**
 * Which version of a read model is live: one pointer document per read model in `read_model_versions`
 * (Marten's ProjectionVersion, kept in the read store). Version 1 lives in the collection named by the
 * definition, version n > 1 in `<name>__v<n>`. `live` is what readers use; `building` is filled by a rebuild
 * beside it; `previous` was live until a switch and is still written until it is dropped. Each process reads
 * the pointer at most POINTER_VALID_MS old (refreshed after POINTER_REFRESH_MS); a rebuild waits
 * POINTER_SETTLE_MS after each change, after which every process acts on the change.
 */
import type {
  CollectionDefinition,
  DocumentCollection,
  ReadModelDocument,
  ReadModelStore,
} from './document-collection.js';

export const POINTER_REFRESH_MS = 1_000;
/** A pointer older than this (from when its read was sent) is never used, however slow the read was. */
export const POINTER_VALID_MS = 2_000;
export const POINTER_SETTLE_MS = POINTER_VALID_MS + 1_000;

export interface ReadModelPointer extends ReadModelDocument {
  /** The read model's name (its definition's name). `version` counts the pointer's changes. */
  readonly id: string;
  readonly live: number;
  readonly building: number | null;
  readonly previous: number | null;
  /** When the pointer last changed, and to what (for operators: `projections:rebuild -- status`). */
  readonly changedAt: string | null;
  readonly note: string | null;
}

export type PointerState = Pick<ReadModelPointer, 'live' | 'building' | 'previous' | 'note'>;

export const READ_MODEL_POINTERS: CollectionDefinition<ReadModelPointer> = {
  name: 'read_model_versions',
  sort: { field: 'id', direction: 'asc' },
  filterFields: [],
};

/** The collection name of a version of a read model. */
export const versionName = (name: string, version: number): string => (version === 1 ? name : `${name}__v${version}`);

/** Another process changed the pointer first (two rebuilds at once, or a rebuild and an abort). */
export class PointerMovedError extends Error {
  constructor(name: string, expected: number) {
    super(`The version pointer of ${name} changed meanwhile (expected revision ${expected}); nothing was changed`);
  }
}

/** The versions every process writes, newest first: a reader switching to a newer one never finds less. */
export const writtenVersions = ({ live, building, previous }: PointerState): number[] =>
  [building, live, previous].filter((v): v is number => v !== null).sort((a, b) => b - a);

/** The pointer of one read model, cached as described above. */
export class ReadModelVersions {
  readonly #pointers: DocumentCollection<ReadModelPointer>;
  #cached: { pointer: ReadModelPointer; sentAt: number } | undefined;
  #reading: Promise<void> | undefined;

  constructor(
    readonly name: string,
    store: ReadModelStore,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#pointers = store.collection(READ_MODEL_POINTERS);
  }

  /** The pointer, at most POINTER_VALID_MS old. */
  async current(): Promise<ReadModelPointer> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const cached = this.#cached;
      const age = cached ? this.now() - cached.sentAt : Infinity;
      if (cached && age < POINTER_REFRESH_MS) return cached.pointer;
      this.#reading ??= this.#read().finally(() => (this.#reading = undefined));
      if (cached && age < POINTER_VALID_MS) {
        this.#reading.catch(() => undefined); // refreshed in the background; a failure shows on the next call
        return cached.pointer;
      }
      await this.#reading;
    }
    throw new Error(`Reading the version pointer of ${this.name} took longer than ${POINTER_VALID_MS} ms, 3 times`);
  }

  /** The pointer as stored now. */
  async fresh(): Promise<ReadModelPointer> {
    await this.#read();
    return this.#cached!.pointer;
  }

  /** Changes the pointer from `from` (as read) to `to`. @throws PointerMovedError if it moved meanwhile. */
  async change(from: ReadModelPointer, to: PointerState): Promise<ReadModelPointer> {
    const sentAt = this.now();
    const next: ReadModelPointer = {
      ...to,
      id: this.name,
      version: from.version + 1,
      changedAt: new Date().toISOString(),
    };
    if (!(await this.#pointers.replace(next, from.version))) throw new PointerMovedError(this.name, from.version);
    this.#cached = { pointer: next, sentAt };
    return next;
  }

  async #read(): Promise<void> {
    const sentAt = this.now();
    const stored = await this.#pointers.get(this.name);
    const pointer = stored ?? {
      id: this.name,
      version: 0,
      live: 1,
      building: null,
      previous: null,
      changedAt: null,
      note: null,
    };
    if (!this.#cached || this.#cached.sentAt < sentAt) this.#cached = { pointer, sentAt };
  }
}
