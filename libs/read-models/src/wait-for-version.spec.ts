import { InMemoryDocumentCollection } from './in-memory-document-collection.js';
import { applyToDocument } from './projection.js';
import { readAtLeast, ReadModelBehindError } from './wait-for-version.js';
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

  it('gives up after the timeout with READ_MODEL_BEHIND, saying where the document is', async () => {
    const collection = await setUp();
    const error = await readAtLeast('Thing t', collection, 't', 3, 100).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReadModelBehindError);
    expect(error).toMatchObject({ code: 'READ_MODEL_BEHIND', details: { minVersion: 3, currentVersion: 1 } });
  });
});
