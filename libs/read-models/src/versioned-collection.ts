/**
 * A read model in versions (blue-green): readers use the live version named by the pointer
 * (read-model-versions.ts); a rebuild fills a new version beside it, switches the pointer, drops the old one.
 *
 * Gap-free without a catch-up pass: (1) `beginBuild` names the new version in the pointer and waits until
 * every process has seen it; from then on every live batch is written to the new version too, a gap there
 * (a stream the rebuild has not reached yet) being filled from the event store, not refused; (2) only then
 * the rebuild reads the streams: an event applied live before step 1 settled was appended before it, so the
 * rebuild reads it; every later one is written live. Versions are written newest first, so the new version
 * is never behind the live one and a reader switched to it never finds less. After the switch the old
 * version is still written until every process has seen the switch, then dropped.
 */
import type {
  CollectionDefinition,
  ConditionalWrite,
  ListQuery,
  Page,
  ReadModelDocument,
} from './document-collection.js';
import { DocumentCollection, ReadModelStore } from './document-collection.js';
import { POINTER_SETTLE_MS, ReadModelVersions, versionName, type ReadModelPointer } from './read-model-versions.js';

/** A rebuild of this read model is under way already (or was interrupted: abort it first). */
export class RebuildInProgressError extends Error {
  constructor(name: string, pointer: ReadModelPointer) {
    super(
      `${name}: version ${pointer.building} is being built since ${pointer.changedAt} ` +
        '(if that rebuild is no longer running, abandon it: projections:rebuild -- <service> --abort)',
    );
  }
}

export class VersionedDocumentCollection<T extends ReadModelDocument> extends DocumentCollection<T> {
  readonly versions: ReadModelVersions;
  readonly #settleMs: number;

  constructor(
    private readonly store: ReadModelStore,
    definition: CollectionDefinition<T>,
    /** How long a change of pointer takes to reach every process (tests of one process pass 0). */
    { settleMs = store.sharedAcrossProcesses ? POINTER_SETTLE_MS : 0 }: { readonly settleMs?: number } = {},
  ) {
    super(definition);
    this.versions = new ReadModelVersions(definition.name, store);
    this.#settleMs = settleMs;
  }

  /** The storage of one version. */
  version(version: number): DocumentCollection<T> {
    return this.store.collection({ ...this.definition, name: versionName(this.definition.name, version) });
  }

  async live(): Promise<DocumentCollection<T>> {
    return this.version((await this.versions.current()).live);
  }

  override async get(id: string): Promise<T | undefined> {
    return (await this.live()).get(id);
  }

  override async getMany(ids: readonly string[]): Promise<Map<string, T>> {
    return (await this.live()).getMany(ids);
  }

  override async list(query: ListQuery<T>): Promise<Page<T>> {
    return (await this.live()).list(query);
  }

  override async replace(next: T, expectedVersion: number): Promise<boolean> {
    return (await this.live()).replace(next, expectedVersion);
  }

  override async writeMany(writes: readonly ConditionalWrite<T>[]): Promise<Set<string>> {
    return (await this.live()).writeMany(writes);
  }

  protected override async dropAll(): Promise<void> {
    await (await this.live()).clear();
  }

  /**
   * Starts a new version beside the live one (finishing the retirement of a previous one first) and waits
   * until every process writes it. @returns the new version's number
   * @throws RebuildInProgressError when a version is being built already
   */
  async beginBuild(): Promise<number> {
    let pointer = await this.versions.fresh();
    if (pointer.building !== null) throw new RebuildInProgressError(this.definition.name, pointer);
    if (pointer.previous !== null) pointer = await this.#retire(pointer);
    const building = pointer.live + 1;
    await this.version(building).drop(); // what an abandoned build of this number may have left
    await this.versions.change(pointer, { ...pointer, building, note: `building version ${building}` });
    await this.#settle();
    return building;
  }

  /** Switches readers to the built version, then retires (stops writing, drops) the one they used. */
  async completeBuild(building: number): Promise<void> {
    let pointer = await this.versions.fresh();
    if (pointer.building !== building)
      throw new Error(`${this.definition.name}: version ${building} is not being built`);
    pointer = await this.versions.change(pointer, {
      live: building,
      building: null,
      previous: pointer.live,
      note: `switched from version ${pointer.live} to ${building}`,
    });
    await this.#settle();
    await this.#retire(pointer);
  }

  /** Abandons the version being built (readers never used it). @returns its number, or null if none was */
  async abortBuild(): Promise<number | null> {
    const pointer = await this.versions.fresh();
    const { building } = pointer;
    if (building === null) return null;
    await this.versions.change(pointer, { ...pointer, building: null, note: `abandoned version ${building}` });
    await this.#settle();
    await this.version(building).drop();
    return building;
  }

  async #retire(pointer: ReadModelPointer): Promise<ReadModelPointer> {
    const { previous } = pointer;
    const next = await this.versions.change(pointer, { ...pointer, previous: null });
    await this.#settle();
    if (previous !== null) await this.version(previous).drop();
    return next;
  }

  /** Waits until every process has read the pointer as it is now. */
  #settle(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.#settleMs));
  }
}

/** The versioned collection of a read model, one per store and name (projections and queries share it). */
export const versionedCollection = <T extends ReadModelDocument>(
  store: ReadModelStore,
  definition: CollectionDefinition<T>,
  /** Used when this creates it (the first call for the name). */
  options?: { readonly settleMs?: number },
): VersionedDocumentCollection<T> => {
  let byName = created.get(store);
  if (!byName) created.set(store, (byName = new Map()));
  let collection = byName.get(definition.name);
  if (!collection) {
    collection = new VersionedDocumentCollection<T>(
      store,
      definition,
      options,
    ) as unknown as VersionedDocumentCollection<never>;
    byName.set(definition.name, collection);
  }
  return collection as unknown as VersionedDocumentCollection<T>;
};

const created = new WeakMap<ReadModelStore, Map<string, VersionedDocumentCollection<never>>>();
