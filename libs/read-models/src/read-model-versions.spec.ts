import { InMemoryReadModelStore } from './in-memory-document-collection.js';
import {
  POINTER_REFRESH_MS,
  POINTER_VALID_MS,
  ReadModelVersions,
  writtenVersions,
  type ReadModelPointer,
} from './read-model-versions.js';

describe('ReadModelVersions', () => {
  /** Two processes on one store: `ours` caches, `theirs` (the rebuild job) changes the pointer. */
  const setUp = () => {
    const store = new InMemoryReadModelStore();
    let now = 0;
    const ours = new ReadModelVersions('things', store, () => now);
    const theirs = new ReadModelVersions('things', store);
    const building = async (version: number): Promise<ReadModelPointer> => {
      const read = await theirs.fresh();
      return theirs.change(read, { ...read, building: version });
    };
    return { ours, building, advance: (ms: number) => void (now += ms) };
  };

  it('starts at version 1, nothing building, before any pointer is stored', async () => {
    const { ours } = setUp();
    await expect(ours.current()).resolves.toMatchObject({ live: 1, building: null, previous: null, version: 0 });
  });

  it('answers from memory while the pointer is fresh, so a change shows only after a refresh', async () => {
    const { ours, building, advance } = setUp();
    await ours.current();
    await building(2);
    advance(POINTER_REFRESH_MS - 1);
    await expect(ours.current()).resolves.toMatchObject({ building: null });
  });

  it('refreshes in the background once older than the refresh interval, still answering what it has', async () => {
    const { ours, building, advance } = setUp();
    await ours.current();
    await building(2);
    advance(POINTER_REFRESH_MS);
    await expect(ours.current()).resolves.toMatchObject({ building: null });
    await new Promise((resolve) => setImmediate(resolve));
    await expect(ours.current()).resolves.toMatchObject({ building: 2 });
  });

  it('never answers a pointer older than its validity: it waits for a read instead', async () => {
    const { ours, building, advance } = setUp();
    await ours.current();
    await building(2);
    advance(POINTER_VALID_MS);
    await expect(ours.current()).resolves.toMatchObject({ building: 2 });
  });

  it('writes the versions newest first, so a reader switching to a newer one never finds less', () => {
    expect(writtenVersions({ live: 1, building: 2, previous: null, note: null })).toEqual([2, 1]);
    expect(writtenVersions({ live: 2, building: null, previous: 1, note: null })).toEqual([2, 1]);
    expect(writtenVersions({ live: 3, building: null, previous: null, note: null })).toEqual([3]);
  });
});
