import { randomUUID } from 'node:crypto';
import type { RecordedEvent } from '@app/core';
import { InvalidCursorError, ReadModelStore, type CollectionDefinition } from '../document-collection.js';
import { applyToDocument, ProjectionGapError } from '../projection.js';

interface Item {
  readonly id: string;
  readonly owner: string;
  readonly state: string;
  readonly rank: number;
  readonly version: number;
}

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

      it('forgets everything when cleared', async () => {
        const collection = await fill('asc');
        await collection.clear();
        await expect(collection.list({ limit: 10 })).resolves.toEqual({ items: [], nextCursor: null });
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
  });
};
