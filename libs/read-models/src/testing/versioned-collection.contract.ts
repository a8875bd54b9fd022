import { PartialBatchError } from '@app/core';
import type { CollectionDefinition, ReadModelStore } from '../document-collection.js';
import { DocumentProjectionHandler } from '../document-projection-handler.js';
import { ProjectionGapError, type DocumentProjection } from '../projection.js';
import { PointerMovedError } from '../read-model-versions.js';
import { RebuildInProgressError, versionedCollection } from '../versioned-collection.js';
import { bumped, type Item } from './contract-item.js';

/** Versions of a read model (blue-green rebuilds) on an adapter: part of readModelStoreContract. */
export const versionedReadModelContract = (
  storeOf: () => ReadModelStore,
  definition: () => CollectionDefinition<Item>,
): void => {
  const item = (id: string, patch: Partial<Item> = {}): Item => ({
    id,
    owner: 'o-1',
    state: 'open',
    rank: 1,
    version: 1,
    ...patch,
  });
  describe('versions of a read model (blue-green rebuilds)', () => {
    const event = bumped;
    const bumps: DocumentProjection<Item> = {
      documentId: (e) => (e.data as { id: string }).id,
      evolve: (current, e) => ({
        ...(current ?? item((e.data as { id: string }).id)),
        rank: (current?.rank ?? 0) + 1,
      }),
    };
    /** The event store of these tests: every stream's events, as a rebuild or a gap filling reads them. */
    const history = (stream: string, upTo: number) => Array.from({ length: upTo }, (_, i) => event(stream, i + 1));
    class Bumps extends DocumentProjectionHandler<Item> {
      constructor(definition: CollectionDefinition<Item>) {
        super(storeOf(), definition, bumps);
      }
    }
    const setUp = () => {
      // One process here: a change of pointer settles at once (the services wait POINTER_SETTLE_MS).
      const collection = versionedCollection(storeOf(), definition(), { settleMs: 0 });
      return { collection, handler: new Bumps(collection.definition) };
    };

    it('reads and writes version 1 under the definition name until a rebuild', async () => {
      const { collection } = setUp();
      await collection.replace(item('a'), 0);
      await expect(storeOf().collection(collection.definition).get('a')).resolves.toEqual(item('a'));
      await expect(collection.versions.fresh()).resolves.toMatchObject({ live: 1, building: null, previous: null });
    });

    it('builds a version beside the live one, switches readers to it, then drops the old one', async () => {
      const { collection, handler } = setUp();
      const versioned = handler.collection;
      expect(versioned).toBe(collection); // one per store and name, shared by projection and queries
      await handler.handleBatch([event('a', 1), event('a', 2)]);
      const building = await handler.beginBuild();
      expect(building).toBe(2);
      await expect(handler.beginBuild()).rejects.toBeInstanceOf(RebuildInProgressError);
      await handler.applyToBuild(building, [...history('a', 2), ...history('b', 1)]);
      await expect(versioned.get('b')).resolves.toBeUndefined(); // readers still on version 1
      await handler.completeBuild(building);
      await expect(versioned.get('b')).resolves.toMatchObject({ version: 1 });
      await expect(versioned.get('a')).resolves.toMatchObject({ rank: 2, version: 2 });
      await expect(versioned.version(1).get('a')).resolves.toBeUndefined(); // dropped
      await expect(versioned.versions.fresh()).resolves.toMatchObject({ live: 2, building: null, previous: null });
    });

    it('writes live events to every version while building, filling gaps in the new one from history', async () => {
      const { handler } = setUp();
      handler.useHistory(async (streamId, after) =>
        history(streamId.replace('Thing-', ''), 3).filter((e) => e.version > after),
      );
      await handler.handleBatch([event('a', 1), event('a', 2)]);
      const building = await handler.beginBuild();
      // live, before the rebuild reached stream a: version 3 finds nothing in the new version
      await handler.handleBatch([event('a', 3), event('n', 1)]);
      await expect(handler.collection.get('a')).resolves.toMatchObject({ rank: 3, version: 3 });
      await expect(handler.collection.version(building).get('a')).resolves.toMatchObject({ rank: 3, version: 3 });
      await expect(handler.collection.version(building).get('n')).resolves.toMatchObject({ version: 1 });
      // the rebuild's read of stream a was older than the live write: nothing goes back
      await handler.applyToBuild(building, history('a', 2));
      await handler.completeBuild(building);
      await expect(handler.collection.get('a')).resolves.toMatchObject({ rank: 3, version: 3 });
    });

    it('refuses a gap in the live version as before, also while building', async () => {
      const { handler } = setUp();
      handler.useHistory(async () => []);
      await handler.handleBatch([event('a', 1)]);
      await handler.beginBuild();
      const error = await handler.handleBatch([event('a', 3)]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PartialBatchError);
      expect((error as PartialBatchError).cause).toBeInstanceOf(ProjectionGapError);
    });

    it('abandons a version being built: readers never see it, it is dropped', async () => {
      const { handler } = setUp();
      await handler.handleBatch([event('a', 1)]);
      const building = await handler.beginBuild();
      await handler.applyToBuild(building, history('b', 1));
      await expect(handler.abortBuild()).resolves.toBe(building);
      await expect(handler.abortBuild()).resolves.toBeNull();
      await expect(handler.collection.version(building).get('b')).resolves.toBeUndefined();
      await expect(handler.collection.versions.fresh()).resolves.toMatchObject({ live: 1, building: null });
      // the next rebuild takes the same number, starting empty
      await expect(handler.beginBuild()).resolves.toBe(building);
    });

    it('changes the pointer only from the revision it read', async () => {
      const { collection } = setUp();
      const read = await collection.versions.fresh();
      await collection.versions.change(read, { ...read, building: 2 });
      await expect(collection.versions.change(read, { ...read, building: 3 })).rejects.toBeInstanceOf(
        PointerMovedError,
      );
    });
  });
};
