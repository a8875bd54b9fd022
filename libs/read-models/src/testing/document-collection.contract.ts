import { randomUUID } from 'node:crypto';
import type { RecordedEvent } from '@app/core';
import {
  InvalidCursorError,
  ReadModelStore,
  type CollectionDefinition,
  type DocumentCollection,
} from '../document-collection.js';
import { PartialBatchError } from '@app/core';
import { applyToDocument, DocumentProjector, ProjectionGapError } from '../projection.js';
import { bumped, type Item } from './contract-item.js';
import { versionedReadModelContract } from './versioned-collection.contract.js';

/**
 * The behaviour every ReadModelStore adapter must have; run it from each adapter's spec. Every test
 * uses its own collection name, so one database can serve the suite.
 */
export const readModelStoreContract = (adapter: string, createStore: () => Promise<ReadModelStore>): void => {
  describe(`ReadModelStore contract: ${adapter}`, () => {
    let store: ReadModelStore;
    const definition = (direction: 'asc' | 'desc' = 'asc'): CollectionDefinition<Item> => ({
      name: `contract_${randomUUID().replaceAll('-', '').slice(0, 12)}`,
      sort: { field: 'rank', direction },
      filterFields: ['owner', 'state'],
    });
    const item = (id: string, patch: Partial<Item> = {}): Item => ({
      id,
      owner: 'o-1',
      state: 'open',
      rank: 1,
      version: 1,
      ...patch,
    });

    beforeAll(async () => {
      store = await createStore();
      await store.init();
    });
    afterAll(() => store.close());

    describe('conditional writes', () => {
      it('creates a document only when none is stored', async () => {
        const collection = store.collection(definition());
        await expect(collection.replace(item('a'), 0)).resolves.toBe(true);
        await expect(collection.replace(item('a', { rank: 9 }), 0)).resolves.toBe(false);
        await expect(collection.get('a')).resolves.toEqual(item('a'));
      });

      it('replaces a document only at the version it was read', async () => {
        const collection = store.collection(definition());
        await collection.replace(item('a'), 0);
        await expect(collection.replace(item('a', { version: 2, state: 'done' }), 1)).resolves.toBe(true);
        await expect(collection.replace(item('a', { version: 3, state: 'stale' }), 1)).resolves.toBe(false);
        await expect(collection.get('a')).resolves.toEqual(item('a', { version: 2, state: 'done' }));
      });

      it('reads an absent document as undefined', async () => {
        await expect(store.collection(definition()).get('nope')).resolves.toBeUndefined();
      });

      it('keeps odd but legal values intact', async () => {
        const collection = store.collection(definition());
        const odd = item('weird', { owner: '{"$gt": ""}', state: 'ünïcødé ✓' });
        await collection.replace(odd, 0);
        await expect(collection.get('weird')).resolves.toEqual(odd);
        await expect(collection.list({ where: { owner: '{"$gt": ""}' }, limit: 10 })).resolves.toMatchObject({
          items: [odd],
        });
      });
    });

    describe('batches of conditional writes', () => {
      it('reads several documents at once, leaving out absent ones', async () => {
        const collection = store.collection(definition());
        await collection.replace(item('a'), 0);
        await collection.replace(item('b', { rank: 2 }), 0);
        const found = await collection.getMany(['a', 'b', 'nope']);
        expect([...found.keys()].sort()).toEqual(['a', 'b']);
        expect(found.get('b')).toEqual(item('b', { rank: 2 }));
        await expect(collection.getMany([])).resolves.toEqual(new Map());
      });

      it('writes each document whose guard holds and refuses the others, creates and updates alike', async () => {
        const collection = store.collection(definition());
        await collection.replace(item('updated'), 0);
        await collection.replace(item('moved', { version: 1 }), 0);
        await collection.replace(item('moved', { version: 2 }), 1);
        await collection.replace(item('exists'), 0);
        const refused = await collection.writeMany([
          { document: item('created'), expectedVersion: 0 },
          { document: item('updated', { version: 2, state: 'done' }), expectedVersion: 1 },
          { document: item('moved', { version: 2, state: 'stale' }), expectedVersion: 1 }, // already at 2
          { document: item('exists', { version: 1, state: 'again' }), expectedVersion: 0 }, // already at 1
          { document: item('absent', { version: 4 }), expectedVersion: 3 },
          { document: item('behind', { version: 3 }), expectedVersion: 2 },
        ]);
        expect([...refused].sort()).toEqual(['absent', 'behind', 'exists', 'moved']);
        const stored = await collection.getMany(['created', 'updated', 'moved', 'exists', 'absent', 'behind']);
        expect(stored.get('created')).toEqual(item('created'));
        expect(stored.get('updated')).toEqual(item('updated', { version: 2, state: 'done' }));
        expect(stored.get('moved')).toEqual(item('moved', { version: 2 }));
        expect(stored.get('exists')).toEqual(item('exists'));
        expect(stored.has('absent')).toBe(false);
        expect(stored.has('behind')).toBe(false);
      });

      it('refuses a document that moved on past the version written', async () => {
        const collection = store.collection(definition());
        await collection.replace(item('a'), 0);
        await collection.replace(item('a', { version: 2 }), 1);
        await collection.replace(item('a', { version: 3 }), 2);
        await expect(
          collection.writeMany([{ document: item('a', { version: 2 }), expectedVersion: 1 }]),
        ).resolves.toEqual(new Set(['a']));
        await expect(collection.get('a')).resolves.toEqual(item('a', { version: 3 }));
      });

      it('writes a batch larger than one bulk command carries, and finds the refusals in any part of it', async () => {
        const collection = store.collection(definition());
        const ids = Array.from({ length: 130 }, (_, i) => `doc-${i}`);
        await expect(
          collection.writeMany(ids.map((id) => ({ document: item(id), expectedVersion: 0 }))),
        ).resolves.toEqual(new Set());
        const refused = await collection.writeMany(
          ids.map((id, i) => ({ document: item(id, { version: 2 }), expectedVersion: i === 120 ? 5 : 1 })),
        );
        expect(refused).toEqual(new Set(['doc-120']));
        const stored = await collection.getMany(ids);
        expect(stored.size).toBe(130);
        expect([...stored.values()].filter((d) => d.version === 2)).toHaveLength(129);
      });

      it('refuses two writes of one document in one batch', async () => {
        const collection = store.collection(definition());
        await expect(
          collection.writeMany([
            { document: item('a'), expectedVersion: 0 },
            { document: item('a', { version: 2 }), expectedVersion: 1 },
          ]),
        ).rejects.toThrow(/one write per document/);
      });
    });

    describe('listing', () => {
      const fill = async (direction: 'asc' | 'desc') => {
        const collection = store.collection(definition(direction));
        for (let i = 0; i < 7; i++) {
          await collection.replace(item(`id-${i}`, { rank: i % 3, owner: i % 2 ? 'odd' : 'even' }), 0);
        }
        return collection;
      };

      it('filters by equality and sorts with the id as tie-breaker', async () => {
        const collection = await fill('asc');
        const { items, nextCursor } = await collection.list({ where: { owner: 'odd' }, limit: 10 });
        expect(items.map((i) => [i.rank, i.id])).toEqual([
          [0, 'id-3'],
          [1, 'id-1'],
          [2, 'id-5'],
        ]);
        expect(nextCursor).toBeNull();
      });

      it.each(['asc', 'desc'] as const)('visits every document once across pages (%s)', async (direction) => {
        const collection = await fill(direction);
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await collection.list({ limit: 3, cursor });
          expect(page.items.length).toBeLessThanOrEqual(3);
          seen.push(...page.items.map((i) => i.id));
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        expect(seen.sort()).toEqual(Array.from({ length: 7 }, (_, i) => `id-${i}`));
        const ranks = (await collection.list({ limit: 10 })).items.map((i) => i.rank);
        const sorted = [...ranks].sort((a, b) => (direction === 'asc' ? a - b : b - a));
        expect(ranks).toEqual(sorted);
      });

      it('refuses a cursor it did not issue', async () => {
        const collection = await fill('asc');
        for (const cursor of ['garbage', Buffer.from('{"$gt":1}').toString('base64url'), '']) {
          await expect(collection.list({ limit: 3, cursor })).rejects.toBeInstanceOf(InvalidCursorError);
        }
      });

      it('forgets everything when cleared, also the writes a read-your-writes wait remembers', async () => {
        const collection = await fill('asc');
        collection.announce({ ...item('a'), version: 1 });
        expect(collection.waits.lastWritten('a')?.version).toBe(1);
        await collection.clear();
        await expect(collection.list({ limit: 10 })).resolves.toEqual({ items: [], nextCursor: null });
        expect(collection.waits.lastWritten('a')).toBeUndefined();
      });
    });

    describe('dropping', () => {
      it('removes the collection; a later write creates it again, listing and filtering as before', async () => {
        const collection = store.collection(definition());
        await collection.writeMany([item('a'), item('b')].map((document) => ({ document, expectedVersion: 0 })));
        await collection.drop();
        await expect(collection.getMany(['a', 'b'])).resolves.toEqual(new Map());
        await collection.drop(); // absent already: nothing happens
        await expect(collection.replace(item('c', { owner: 'o-2' }), 0)).resolves.toBe(true);
        await expect(collection.list({ where: { owner: 'o-2' }, limit: 10 })).resolves.toEqual({
          items: [item('c', { owner: 'o-2' })],
          nextCursor: null,
        });
      });
    });

    describe('applying events', () => {
      const event = (version: number): RecordedEvent => ({
        streamId: 'Thing-1',
        version,
        type: 'Bumped',
        schemaVersion: 1,
        data: {},
        metadata: { eventId: `e-${version}`, correlationId: 'c', causationId: 'c', occurredAt: '2026-01-01T00:00:00Z' },
      });
      const bump = (current: Item | undefined) => ({ ...(current ?? item('t')), rank: (current?.rank ?? 0) + 1 });

      it('applies each version once and ignores redeliveries', async () => {
        const collection = store.collection(definition());
        await expect(applyToDocument(collection, 't', event(1), bump)).resolves.toBe('applied');
        await expect(applyToDocument(collection, 't', event(2), bump)).resolves.toBe('applied');
        await expect(applyToDocument(collection, 't', event(1), bump)).resolves.toBe('duplicate');
        await expect(applyToDocument(collection, 't', event(2), bump)).resolves.toBe('duplicate');
        await expect(collection.get('t')).resolves.toMatchObject({ rank: 2, version: 2 });
      });

      it('refuses a version that skips one', async () => {
        const collection = store.collection(definition());
        await applyToDocument(collection, 't', event(1), bump);
        await expect(applyToDocument(collection, 't', event(3), bump)).rejects.toBeInstanceOf(ProjectionGapError);
      });

      it('applies an event delivered several times at once only once, for creates and updates', async () => {
        const collection = store.collection(definition());
        for (const version of [1, 2, 3]) {
          // version 1 races creates, later versions race conditional replaces
          const outcomes = await Promise.all(
            Array.from({ length: 5 }, () => applyToDocument(collection, 't', event(version), bump)),
          );
          expect(outcomes.filter((o) => o === 'applied')).toHaveLength(1);
        }
        await expect(collection.get('t')).resolves.toMatchObject({ rank: 3, version: 3 });
      });
    });

    describe('applying batches of events', () => {
      const event = bumped;
      const projectorOf = (collection: DocumentCollection<Item>, rememberDocuments?: number) =>
        new DocumentProjector<Item>(
          collection,
          {
            documentId: (e) => (e.data as { id: string }).id,
            evolve: (current, e) => {
              if (e.type === 'Broken') throw new Error(`cannot apply ${e.streamId}@${e.version}`);
              const { id } = e.data as { id: string };
              return { ...(current ?? item(id)), rank: (current?.rank ?? 0) + 1 };
            },
          },
          { rememberDocuments },
        );

      it('applies interleaved streams in order per document, each version once', async () => {
        const collection = store.collection<Item>(definition());
        const projector = projectorOf(collection);
        const batch = [event('a', 1), event('b', 1), event('a', 2), event('b', 2), event('a', 3)];
        await expect(projector.applyAll(batch)).resolves.toEqual(Array(5).fill('applied'));
        await expect(projector.applyAll([event('a', 3), event('b', 2), event('b', 3)])).resolves.toEqual([
          'duplicate',
          'duplicate',
          'applied',
        ]);
        const stored = await collection.getMany(['a', 'b']);
        expect(stored.get('a')).toMatchObject({ rank: 3, version: 3 });
        expect(stored.get('b')).toMatchObject({ rank: 3, version: 3 });
      });

      it('ignores a redelivered batch, also in a new process that remembers nothing', async () => {
        const collection = store.collection<Item>(definition());
        const batch = [event('a', 1), event('a', 2), event('b', 1)];
        await projectorOf(collection).applyAll(batch);
        await expect(projectorOf(collection).applyAll(batch)).resolves.toEqual(Array(3).fill('duplicate'));
        await expect(projectorOf(collection, 0).applyAll([...batch, event('a', 3)])).resolves.toEqual([
          'duplicate',
          'duplicate',
          'duplicate',
          'applied',
        ]);
        await expect(collection.get('a')).resolves.toMatchObject({ rank: 3, version: 3 });
      });

      it('stops a document at a gap, applies everything else, and names the first event not applied', async () => {
        const collection = store.collection<Item>(definition());
        const projector = projectorOf(collection);
        await projector.applyAll([event('a', 1), event('b', 1)]);
        const batch = [event('b', 2), event('a', 3), event('b', 3), event('a', 4), event('c', 1)];
        const error = await projector.applyAll(batch).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(PartialBatchError);
        expect(error).toMatchObject({ handled: 1 });
        expect((error as PartialBatchError).cause).toBeInstanceOf(ProjectionGapError);
        const stored = await collection.getMany(['a', 'b', 'c']);
        expect(stored.get('a')).toMatchObject({ version: 1 });
        expect(stored.get('b')).toMatchObject({ version: 3 });
        expect(stored.get('c')).toMatchObject({ version: 1 });
        // the missing event arrives, then the rest again, in order
        await projector.applyAll([event('a', 2), ...batch]);
        await expect(collection.get('a')).resolves.toMatchObject({ rank: 4, version: 4 });
      });

      it('keeps the events of a document before one that fails, none after it', async () => {
        const collection = store.collection<Item>(definition());
        const broken = { ...event('a', 2), type: 'Broken' };
        const error = await projectorOf(collection)
          .applyAll([event('a', 1), event('b', 1), broken, event('a', 3)])
          .catch((e: unknown) => e);
        expect(error).toMatchObject({ handled: 2 });
        await expect(collection.get('a')).resolves.toMatchObject({ version: 1 });
        await expect(collection.get('b')).resolves.toMatchObject({ version: 1 });
      });

      it('notices a document another writer moved on, and decides its events again from the store', async () => {
        const collection = store.collection<Item>(definition());
        const ours = projectorOf(collection);
        const theirs = projectorOf(collection);
        await ours.applyAll([event('a', 1)]);
        await theirs.applyAll([event('a', 1), event('a', 2)]); // ours still remembers version 1
        await expect(ours.applyAll([event('a', 2), event('a', 3)])).resolves.toEqual(['duplicate', 'applied']);
        await expect(collection.get('a')).resolves.toMatchObject({ rank: 3, version: 3 });
      });

      it('applies concurrent batches of one document exactly once', async () => {
        const collection = store.collection<Item>(definition());
        const batch = [event('a', 1), event('a', 2), event('b', 1)];
        const results = await Promise.all(Array.from({ length: 5 }, () => projectorOf(collection).applyAll(batch)));
        expect(results.flat().filter((o) => o === 'applied')).toHaveLength(3);
        await expect(collection.get('a')).resolves.toMatchObject({ rank: 2, version: 2 });
      });
    });

    versionedReadModelContract(() => store, definition);
  });
};
