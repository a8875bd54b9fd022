import type { RecordedEvent } from '@app/core';
import { EventTypeRegistry } from '@app/event-sourcing';
import { encodeEvent } from '../kafka/kafka-envelope.js';
import { formatRef, NotRedrivableError, parseRef, readDeadLetter, redriveMessage, refProblem } from './dead-letter.js';

const event: RecordedEvent = {
  streamId: 'Order-1',
  version: 2,
  type: 'OrderConfirmed',
  schemaVersion: 1,
  data: { orderId: '1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b', at: '2024-01-01T00:00:00.000Z' },
  metadata: { eventId: 'e-1', correlationId: 'c-1', causationId: 'k-1', occurredAt: '2024-01-01T00:00:00.000Z' },
};

const dlqHeaders = {
  'dlq-origin-topic': 'staging.orders.order',
  'dlq-origin-partition': '1',
  'dlq-origin-offset': '17',
  'dlq-attempts': '5',
  'dlq-error': 'ProjectionGapError: order_summaries: Order-1@2 arrived while the document is at 0',
  'dlq-failed-at': '2024-01-02T00:00:00.000Z',
  'dlq-group': 'orders',
};

const deadLetterOf = (value: string, headers: Record<string, string> = {}) =>
  readDeadLetter('staging.orders.order.dlq', 1, '4', {
    key: Buffer.from('Order-1'),
    value: Buffer.from(value),
    headers: { ...headers, ...dlqHeaders },
  });

describe('Dead-letter refs', () => {
  it('read back what they print', () => {
    const ref = { topic: 'staging.orders.order.dlq', partition: 2, offset: '9007199254740993' };
    expect(formatRef(ref)).toBe('staging.orders.order.dlq:2:9007199254740993');
    expect(parseRef(formatRef(ref))).toEqual(ref);
  });

  it.each([
    ['orders.order:0:1', 'not a dead-letter topic'],
    ['orders.order.dlq:0', 'no offset'],
    ['orders.order.dlq:-1:1', 'a negative partition'],
    ['orders.order.dlq:0:01', 'a leading zero'],
    ['orders/order.dlq:0:1', 'a character no topic has'],
    ['', 'empty'],
  ])('refuse %j (%s)', (text) => {
    expect(refProblem(text)).toContain('is not a dead-letter ref');
    expect(() => parseRef(text)).toThrow(TypeError);
  });

  it('refuse what is not a string', () => {
    expect(refProblem(42)).toBe('must be a string');
  });
});

describe('readDeadLetter', () => {
  it('reads the origin, the event and the failure from the envelope and the dlq headers', () => {
    const deadLetter = deadLetterOf(encodeEvent(event).value, encodeEvent(event).headers);
    expect(deadLetter).toMatchObject({
      ref: 'staging.orders.order.dlq:1:4',
      origin: { topic: 'staging.orders.order', partition: 1, offset: '17' },
      group: 'orders',
      eventType: 'OrderConfirmed',
      streamId: 'Order-1',
      streamVersion: 2,
      schemaVersion: 1,
      attempts: 5,
      error: dlqHeaders['dlq-error'],
      failedAt: '2024-01-02T00:00:00.000Z',
      redriveOf: null,
      key: 'Order-1',
      payload: { streamId: 'Order-1', version: 2 },
    });
  });

  it('keeps a malformed message as text, with what its headers say', () => {
    const deadLetter = deadLetterOf('{not json', { 'event-type': 'OrderPlaced' });
    expect(deadLetter).toMatchObject({ eventType: 'OrderPlaced', streamId: null, value: '{not json' });
    expect(deadLetter.payload).toBeUndefined();
  });
});

describe('redriveMessage', () => {
  const registry = new EventTypeRegistry();
  registry.register([
    {
      type: 'OrderConfirmed',
      schemaVersion: 2,
      upcast: ({ at, ...rest }) => ({ ...rest, confirmedAt: at }),
    },
  ]);
  const upcast = (e: RecordedEvent) => registry.upcast(e);

  it('sends the event to its origin topic, upcast, with the original key and headers, marked for the group', () => {
    const { headers, value } = encodeEvent(event);
    const message = redriveMessage(deadLetterOf(value, { ...headers, traceparent: '00-abc-def-01' }), upcast);
    expect(message).toMatchObject({ topic: 'staging.orders.order', key: 'Order-1' });
    expect(JSON.parse(message.value)).toMatchObject({
      schemaVersion: 2,
      data: { confirmedAt: '2024-01-01T00:00:00.000Z' },
      metadata: { eventId: 'e-1' },
    });
    expect(message.headers).toMatchObject({
      traceparent: '00-abc-def-01',
      'event-type': 'OrderConfirmed',
      'schema-version': '2',
      'dlq-redrive-of': 'staging.orders.order.dlq:1:4',
      'dlq-redrive-for-group': 'orders',
    });
    expect(
      Object.keys(message.headers)
        .filter((h) => h.startsWith('dlq-'))
        .sort(),
    ).toEqual(['dlq-redrive-for-group', 'dlq-redrive-of']);
  });

  it('refuses a message that is not an event envelope: it would only fail again', () => {
    expect(() => redriveMessage(deadLetterOf('{not json'), upcast)).toThrow(NotRedrivableError);
  });

  it('refuses a schema version newer than this build reads', () => {
    const newer = encodeEvent({ ...event, schemaVersion: 3 }).value;
    expect(() => redriveMessage(deadLetterOf(newer), upcast)).toThrow(
      /cannot be redriven.*Cannot read OrderConfirmed v3/,
    );
  });
});
