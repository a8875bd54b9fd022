import type { RecordedEvent } from '@app/core';
import { decodeEvent, encodeEvent, MalformedMessageError } from './kafka-envelope.js';

const event: RecordedEvent = {
  streamId: 'Order-1',
  version: 2,
  type: 'OrderPlaced',
  schemaVersion: 1,
  data: { orderId: '1' },
  metadata: { eventId: 'e-1', correlationId: 'c-1', causationId: 'k-1', occurredAt: '2024-01-01T00:00:00.000Z' },
};

describe('Kafka event envelope', () => {
  it('encodes key = stream id, JSON value and string headers', () => {
    expect(encodeEvent(event)).toEqual({
      key: 'Order-1',
      value: JSON.stringify(event),
      headers: {
        'event-type': 'OrderPlaced',
        'event-id': 'e-1',
        'schema-version': '1',
        'correlation-id': 'c-1',
        'causation-id': 'k-1',
        'stream-id': 'Order-1',
        'stream-version': '2',
        'occurred-at': '2024-01-01T00:00:00.000Z',
      },
    });
  });

  it('decodes what kafkajs gives (Buffers) and what Nest parsed (strings, objects)', () => {
    const message = encodeEvent(event);
    const buffers = {
      key: Buffer.from(message.key),
      value: Buffer.from(message.value),
      headers: Object.fromEntries(Object.entries(message.headers).map(([k, v]) => [k, Buffer.from(v)])),
    };
    expect(decodeEvent(buffers)).toEqual(event);
    expect(decodeEvent(message)).toEqual(event);
    expect(decodeEvent({ ...message, value: JSON.parse(message.value) })).toEqual(event);
  });

  it.each([
    ['no value', { value: null }],
    ['bad JSON', { value: '{"streamId":' }],
    ['a JSON array', { value: '[1]' }],
    ['a missing field', { value: JSON.stringify({ ...event, type: undefined }) }],
    ['a wrong type', { value: JSON.stringify({ ...event, version: '2' }) }],
    ['a version below 1', { value: JSON.stringify({ ...event, version: 0 }) }],
    ['data that is not an object', { value: JSON.stringify({ ...event, data: 'x' }) }],
    [
      'metadata without an event id',
      { value: JSON.stringify({ ...event, metadata: { ...event.metadata, eventId: '' } }) },
    ],
    ['a key that is not the stream id', { key: 'Order-2', value: JSON.stringify(event) }],
    ['an event-type header that contradicts', { value: JSON.stringify(event), headers: { 'event-type': 'X' } }],
  ])('rejects %s as malformed', (_, message) => {
    expect(() => decodeEvent(message)).toThrow(MalformedMessageError);
  });
});
