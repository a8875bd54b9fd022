import {
  assertDistinctWrites,
  DocumentCollection,
  ReadModelStore,
  decodeCursor,
  encodeCursor,
  type CollectionDefinition,
  type ConditionalWrite,
  type ListQuery,
  type Page,
  type ReadModelDocument,
} from './document-collection.js';

export class InMemoryDocumentCollection<T extends ReadModelDocument> extends DocumentCollection<T> {
  readonly #documents = new Map<string, T>();

  override async get(id: string): Promise<T | undefined> {
    const document = this.#documents.get(id);
    return document && structuredClone(document);
  }

  override async replace(next: T, expectedVersion: number): Promise<boolean> {
    if ((this.#documents.get(next.id)?.version ?? 0) !== expectedVersion) return false;
    this.#documents.set(next.id, structuredClone(next));
    return true;
  }

  override async getMany(ids: readonly string[]): Promise<Map<string, T>> {
    const found = new Map<string, T>();
    for (const id of ids) {
      const document = this.#documents.get(id);
      if (document) found.set(id, structuredClone(document));
    }
    return found;
  }

  override async writeMany(writes: readonly ConditionalWrite<T>[]): Promise<Set<string>> {
    assertDistinctWrites(writes);
    const refused = new Set<string>();
    for (const { document, expectedVersion } of writes) {
      if ((this.#documents.get(document.id)?.version ?? 0) === expectedVersion) {
        this.#documents.set(document.id, structuredClone(document));
      } else {
        refused.add(document.id);
      }
    }
    return refused;
  }

  override async list({ where = {}, limit, cursor }: ListQuery<T>): Promise<Page<T>> {
    const { field, direction } = this.definition.sort;
    const sign = direction === 'asc' ? 1 : -1;
    const key = (d: T): [unknown, string] => [d[field], d.id];
    const compare = (a: [unknown, string], b: [unknown, string]): number =>
      sign * (compareValues(a[0], b[0]) || compareValues(a[1], b[1]));
    const after = cursor === undefined ? undefined : decodeCursor(cursor);

    const matching = [...this.#documents.values()]
      .filter((d) => Object.entries(where).every(([k, v]) => v === undefined || d[k as keyof T] === v))
      .filter((d) => after === undefined || compare(key(d), after) > 0)
      .sort((a, b) => compare(key(a), key(b)));
    const items = matching.slice(0, limit).map((d) => structuredClone(d));
    const last = items.at(-1);
    return { items, nextCursor: matching.length > limit && last ? encodeCursor(key(last)) : null };
  }

  protected override async dropAll(): Promise<void> {
    this.#documents.clear();
  }
}

const compareValues = (a: unknown, b: unknown): number => {
  if (a === b) return 0;
  if (a === undefined || a === null) return -1;
  if (b === undefined || b === null) return 1;
  return (a as string | number) < (b as string | number) ? -1 : 1;
};

export class InMemoryReadModelStore extends ReadModelStore {
  readonly #collections = new Map<string, InMemoryDocumentCollection<ReadModelDocument>>();

  override get sharedAcrossProcesses(): boolean {
    return false;
  }

  override collection<T extends ReadModelDocument>(definition: CollectionDefinition<T>): DocumentCollection<T> {
    let collection = this.#collections.get(definition.name);
    if (!collection) {
      collection = new InMemoryDocumentCollection<T>(
        definition,
      ) as unknown as InMemoryDocumentCollection<ReadModelDocument>;
      this.#collections.set(definition.name, collection);
    }
    return collection as unknown as DocumentCollection<T>;
  }
}
