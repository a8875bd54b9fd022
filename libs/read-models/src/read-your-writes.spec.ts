import { jest } from '@jest/globals';
import { InMemoryDocumentCollection } from './in-memory-document-collection.js';
import { applyToDocument } from './projection.js';
import { DocumentWaits, readAtLeast, ReadModelBehindError, TooManyWaitsError, WaitBudget } from './read-your-writes.js';
import type { RecordedEvent } from '@app/core';

interface Doc {
  readonly id: string;
  readonly version: number;
}

const event = (version: number): RecordedEvent => ({
  streamId: 'Thing-t',
  version,
  type: 'Touched',
  schemaVersion: 1,
  data: {},
  metadata: { eventId: `e-${version}`, correlationId: 'c', causationId: 'c', occurredAt: '2026-01-01T00:00:00Z' },
});

describe('DocumentWaits', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('reads a document nobody announces at growing intervals while anyone waits, once per document', async () => {
    const read = jest.fn(async (id: string): Promise<Doc | undefined> => ({ id, version: 1 }));
    const waits = new DocumentWaits<Doc>(read, 250);
    const waiting = [waits.until('d', 2, 3_000), waits.until('d', 2, 3_000)];
    const readsAt: number[] = [];
    for (let t = 0; t < 3_000; t += 50) {
      const before = read.mock.calls.length;
      await jest.advanceTimersByTimeAsync(50);
      if (read.mock.calls.length > before) readsAt.push(t + 50);
    }
    await expect(Promise.all(waiting)).resolves.toEqual([undefined, undefined]); // timed out
    // 250 ms, then 375, 562.5, 843.75 ms later: 4 reads in 3 s (one every 250 ms would be 11)
    expect(readsAt).toEqual([250, 650, 1200, 2050]);
    expect(waits.size).toBe(0);
  });

  it('answers a waiter from the fallback read once another process wrote the version', async () => {
    let stored: Doc = { id: 'd', version: 1 };
    const waits = new DocumentWaits<Doc>(async () => stored, 250);
    const waiting = waits.until('d', 2, 5_000);
    await jest.advanceTimersByTimeAsync(300);
    stored = { id: 'd', version: 2 };
    await jest.advanceTimersByTimeAsync(400);
    await expect(waiting).resolves.toEqual({ id: 'd', version: 2 });
  });
});

describe('readAtLeast (read your writes)', () => {
  const setUp = async () => {
    const collection = new InMemoryDocumentCollection<Doc>({
      name: 'docs',
      sort: { field: 'id', direction: 'asc' },
      filterFields: [],
    });
    await applyToDocument(collection, 't', event(1), () => ({ id: 't' }));
    return collection;
  };

  it('answers as soon as the projection writes the awaited version, without polling for it', async () => {
    const collection = await setUp();
    const started = Date.now();
    const waiting = readAtLeast('Thing t', collection, 't', 2, 5_000);
    setTimeout(() => void applyToDocument(collection, 't', event(2), (d) => ({ id: d!.id })), 30);
    await expect(waiting).resolves.toMatchObject({ version: 2 });
    expect(Date.now() - started).toBeLessThan(200); // well under the 250 ms fallback poll
  });

  it('answers at once when the version is there already, and reads plainly without minVersion', async () => {
    const collection = await setUp();
    await expect(readAtLeast('Thing t', collection, 't', 1, 5_000)).resolves.toMatchObject({ version: 1 });
    await expect(readAtLeast('Thing t', collection, 'absent', undefined, 5_000)).resolves.toBeUndefined();
  });

  it('shares one wait per document among its waiters and reads nothing when the write is announced', async () => {
    const collection = await setUp();
    const get = jest.spyOn(collection, 'get');
    const waiting = Array.from({ length: 50 }, () => readAtLeast('Thing t', collection, 't', 2, 5_000));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(collection.waits.size).toBe(1);
    const reads = get.mock.calls.length; // each query's own first read
    await applyToDocument(collection, 't', event(2), (d) => ({ id: d!.id }));
    await expect(Promise.all(waiting)).resolves.toEqual(Array(50).fill({ id: 't', version: 2 }));
    expect(get.mock.calls.length).toBe(reads + 1); // applyToDocument's own read
    expect(collection.waits.size).toBe(0);
  });

  it('answers a waiter whose version an earlier write reached, and keeps waiting for later versions', async () => {
    const collection = await setUp();
    const two = readAtLeast('Thing t', collection, 't', 2, 5_000);
    const three = readAtLeast('Thing t', collection, 't', 3, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 10));
    await applyToDocument(collection, 't', event(2), (d) => ({ id: d!.id }));
    await expect(two).resolves.toMatchObject({ version: 2 });
    expect(collection.waits.size).toBe(1);
    await applyToDocument(collection, 't', event(3), (d) => ({ id: d!.id }));
    await expect(three).resolves.toMatchObject({ version: 3 });
  });

  it('sees a write made by another process through one shared read of the document', async () => {
    const collection = await setUp();
    const waiting = Promise.all([1, 2, 3].map(() => readAtLeast('Thing t', collection, 't', 2, 5_000)));
    await new Promise((resolve) => setTimeout(resolve, 10));
    await collection.replace({ id: 't', version: 2 }, 1); // no announcement: as if written elsewhere
    const get = jest.spyOn(collection, 'get');
    await expect(waiting).resolves.toEqual(Array(3).fill({ id: 't', version: 2 }));
    expect(get).toHaveBeenCalledTimes(1);
  });

  it('answers a version this process wrote already from memory, with no read', async () => {
    const collection = await setUp(); // this process wrote version 1
    const get = jest.spyOn(collection, 'get');
    await expect(readAtLeast('Thing t', collection, 't', 1, 5_000)).resolves.toEqual({ id: 't', version: 1 });
    await applyToDocument(collection, 't', event(2), (d) => ({ id: d!.id }));
    get.mockClear();
    await expect(readAtLeast('Thing t', collection, 't', 2, 5_000)).resolves.toEqual({ id: 't', version: 2 });
    expect(get).not.toHaveBeenCalled();
  });

  it('reads again once the collection was cleared: what it remembered is gone with it', async () => {
    const collection = await setUp();
    await collection.clear();
    const error = await readAtLeast('Thing t', collection, 't', 1, 50).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReadModelBehindError);
  });

  it('gives up after the timeout with READ_MODEL_BEHIND, saying where the document is', async () => {
    const collection = await setUp();
    const error = await readAtLeast('Thing t', collection, 't', 3, 100).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReadModelBehindError);
    expect(error).toMatchObject({ code: 'READ_MODEL_BEHIND', details: { minVersion: 3, currentVersion: 1 } });
  });

  describe('when the caller may not see the document', () => {
    it('answers it as absent at once, before any wait and without taking a wait slot', async () => {
      const collection = await setUp();
      const budget = new WaitBudget(1);
      const started = Date.now();
      const answer = await readAtLeast('Thing t', collection, 't', 99, 5_000, { budget, visible: () => false });
      expect({ answer, fast: Date.now() - started < 1_000, inUse: budget.inUse }).toEqual({
        answer: undefined,
        fast: true,
        inUse: 0,
      });
    });

    it('answers a document that appears during the wait and is not visible as absent too', async () => {
      const collection = await setUp();
      const waiting = readAtLeast('Thing t', collection, 'later', 1, 5_000, {
        visible: (doc: Doc & { owner?: string }) => doc.owner === 'a',
      });
      setTimeout(() => void applyToDocument(collection, 'later', event(1), () => ({ id: 'later', owner: 'b' })), 20);
      await expect(waiting).resolves.toBeUndefined();
    });
  });

  describe('when the client goes away', () => {
    it('stops waiting and frees its slot, so a new wait is accepted', async () => {
      const collection = await setUp();
      const budget = new WaitBudget(2);
      const clients = [new AbortController(), new AbortController()];
      const waits = clients.map((client) =>
        readAtLeast('Thing t', collection, 't', 99, 30_000, { budget, signal: client.signal }).catch((e: unknown) => e),
      );
      await expect(readAtLeast('Thing t', collection, 't', 99, 30_000, { budget })).rejects.toBeInstanceOf(
        TooManyWaitsError,
      );
      for (const client of clients) client.abort();
      await Promise.all(waits);
      expect(budget.inUse).toBe(0);
      const next = readAtLeast('Thing t', collection, 't', 2, 30_000, { budget });
      await applyToDocument(collection, 't', event(2), (d) => ({ id: d!.id }));
      await expect(next).resolves.toMatchObject({ version: 2 });
    });

    it('takes no slot when the client is gone already', async () => {
      const collection = await setUp();
      const budget = new WaitBudget(1);
      const answer = await readAtLeast('Thing t', collection, 't', 99, 30_000, {
        budget,
        signal: AbortSignal.abort(),
      }).catch((e: unknown) => e);
      expect({ answer: answer instanceof Error, inUse: budget.inUse }).toEqual({ answer: true, inUse: 0 });
    });
  });
  describe('when the stream the document is projected from has no event', () => {
    it('answers absent at once, without waiting and with no slot left taken', async () => {
      const collection = await setUp();
      const budget = new WaitBudget(1);
      const started = Date.now();
      const answer = await readAtLeast('Thing u', collection, 'unknown', 5, 5_000, {
        budget,
        streamExists: async () => false,
      });
      expect({ answer, fast: Date.now() - started < 1_000, inUse: budget.inUse }).toEqual({
        answer: undefined,
        fast: true,
        inUse: 0,
      });
    });

    it('waits for a document whose stream exists (the projection is behind its creation)', async () => {
      const collection = await setUp();
      const streamExists = jest.fn(async () => true);
      const waiting = readAtLeast('Thing n', collection, 'new', 1, 5_000, { streamExists });
      setTimeout(() => void applyToDocument(collection, 'new', event(1), () => ({ id: 'new' })), 30);
      await expect(waiting).resolves.toEqual({ id: 'new', version: 1 });
      expect(streamExists).toHaveBeenCalledTimes(1);
    });

    it('waits as without the check when the event store cannot answer', async () => {
      const collection = await setUp();
      const error = await readAtLeast('Thing u', collection, 'unknown', 1, 100, {
        streamExists: () => Promise.reject(new Error('event store down')),
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ReadModelBehindError);
    });

    it('is not asked about a document that is there, at whatever version', async () => {
      const collection = await setUp();
      const streamExists = jest.fn(async () => false);
      await expect(readAtLeast('Thing t', collection, 't', 2, 100, { streamExists })).rejects.toBeInstanceOf(
        ReadModelBehindError,
      );
      expect(streamExists).not.toHaveBeenCalled();
    });
  });
});
