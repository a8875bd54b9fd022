import { eventOfTypes, type DomainEvent, type RecordedEvent } from './events.js';

type Opened = DomainEvent<'Opened', { readonly id: string }>;
type Closed = DomainEvent<'Closed', { readonly id: string; readonly reason: string }>;

const recorded = (type: string, data: object): RecordedEvent => ({
  streamId: 'Thing-1',
  version: 2,
  type,
  schemaVersion: 1,
  data,
  metadata: { eventId: 'e', correlationId: 'c', causationId: 'c', occurredAt: '2026-01-01T00:00:00Z' },
});

describe('eventOfTypes', () => {
  it('gives the domain event of a handled type, without the store metadata', () => {
    expect(
      eventOfTypes<Opened | Closed>(recorded('Closed', { id: '1', reason: 'done' }), ['Opened', 'Closed']),
    ).toEqual({
      type: 'Closed',
      data: { id: '1', reason: 'done' },
    });
  });

  it('throws for a type the handler does not declare (a wiring error)', () => {
    expect(() => eventOfTypes<Opened>(recorded('Closed', { id: '1' }), ['Opened'])).toThrow(
      'Thing-1@2: Closed is not one of Opened',
    );
  });
});
