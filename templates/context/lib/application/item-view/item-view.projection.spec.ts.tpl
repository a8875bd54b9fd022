import type { RecordedEvent } from '@app/core';
import { __itemCamel__Stream, type __Item__Event } from '@app/contracts';
import { InMemoryReadModelStore } from '@app/read-models';
import { __Item__ViewProjection } from './__item__-view.projection.js';

const __itemCamel__Id = '7d9a3c1e-0000-4000-8000-000000000001';
const recorded = (version: number, event: __Item__Event): RecordedEvent => ({
  streamId: __itemCamel__Stream(__itemCamel__Id),
  version,
  type: event.type,
  schemaVersion: 1,
  data: event.data,
  metadata: { eventId: `e-${version}`, correlationId: 'c', causationId: 'c', occurredAt: '2026-01-02T00:00:00Z' },
});
const opened = recorded(1, {
  type: '__Item__Opened',
  data: { __itemCamel__Id, title: 'First', openedAt: '2026-01-02T00:00:01.000Z' },
});
const closed = recorded(2, { type: '__Item__Closed', data: { __itemCamel__Id, closedAt: '2026-01-02T00:00:02.000Z' } });

describe('__Item__ViewProjection', () => {
  const setUp = () => new __Item__ViewProjection(new InMemoryReadModelStore());

  it('shows an opened __item__', async () => {
    const projection = setUp();
    await projection.handle(opened);
    expect(await projection.collection.get(__itemCamel__Id)).toEqual({
      id: __itemCamel__Id,
      title: 'First',
      status: 'OPEN',
      openedAt: '2026-01-02T00:00:01.000Z',
      updatedAt: '2026-01-02T00:00:01.000Z',
      version: 1,
    });
  });

  it('follows its closing in one batch, applying a redelivery once', async () => {
    const projection = setUp();
    await projection.handleBatch([opened, closed, closed]);
    expect(await projection.collection.get(__itemCamel__Id)).toMatchObject({ status: 'CLOSED', version: 2 });
  });

  it('refuses an event before the one it follows (a gap)', async () => {
    await expect(setUp().handle(closed)).rejects.toMatchObject({ code: 'PROJECTION_GAP' });
  });
});
