import { ApplicationError, type RecordedEvent } from '@app/core';
import { encodeEvent } from '../kafka/kafka-envelope.js';
import { handledTopic, readDeadLetter, type HandledRecord, type RedriveMessage } from './dead-letter.js';
import { DeadLetterOperations, type DeadLetterLog, type Selection } from './dead-letter-operations.js';

// The selection rules and the scope of the operations, over dead letters held in memory. The same
// operations against the real broker: test/infra/dead-letters.infra-spec.ts.

const event = (version: number): RecordedEvent => ({
  streamId: 'Order-1',
  version,
  type: 'OrderConfirmed',
  schemaVersion: 1,
  data: {},
  metadata: { eventId: `e-${version}`, correlationId: 'c', causationId: 'k', occurredAt: '2024-01-01T00:00:00Z' },
});

const dlq = 'p.orders.order.dlq';
const message = (value: string, group: string) => ({
  key: Buffer.from('Order-1'),
  value: Buffer.from(value),
  headers: { 'dlq-origin-topic': 'p.orders.order', 'dlq-error': 'Error: boom', 'dlq-group': group },
});

/** Dead letters at offsets 0 (orders, an event), 1 (shipping, an event), 2 (orders, malformed). */
const setup = () => {
  const deadLetters = [
    readDeadLetter(dlq, 0, '0', message(encodeEvent(event(2)).value, 'orders')),
    readDeadLetter(dlq, 0, '1', message(encodeEvent(event(3)).value, 'shipping')),
    readDeadLetter(dlq, 0, '2', message('{broken', 'orders')),
  ];
  const handled = new Map<string, HandledRecord>();
  const sent: RedriveMessage[] = [];
  const log: DeadLetterLog = {
    scan: async (topics) => ({ deadLetters: deadLetters.filter(() => topics.includes(dlq)), handled }),
    send: async (m) => (sent.push(m), { topic: m.topic, partition: 0, offset: String(sent.length) }),
    markHandled: async (topic, record) => {
      expect(handledTopic(topic)).toBe(`${dlq}.handled`);
      handled.set(record.ref, record);
    },
  };
  const operations = new DeadLetterOperations(
    log,
    { topics: [dlq, 'p.inventory.product.dlq'], topicPrefix: 'p.', group: 'orders' },
    (e) => e,
    () => new Date('2024-02-01T00:00:00Z'),
  );
  return { operations, sent, handled };
};

const refusal = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApplicationError);
  const { code, kind, details } = error as ApplicationError;
  return { code, kind, details };
};

describe('DeadLetterOperations', () => {
  it("lists the dead letters of its consumer group only, by the topic's name with or without the prefix", async () => {
    const { operations } = setup();
    const refs = (await operations.list()).map((d) => d.ref);
    expect(refs).toEqual([`${dlq}:0:0`, `${dlq}:0:2`]);
    expect((await operations.list({ topic: 'orders.order' })).map((d) => d.ref)).toEqual(refs);
    expect((await operations.list({ topic: dlq })).map((d) => d.ref)).toEqual(refs);
    expect(await operations.list({ topic: 'inventory.product' })).toEqual([]);
  });

  it('selects nothing by a topic it has no dead letters of; the command line refuses it, naming the known ones', async () => {
    const { operations } = setup();
    expect(await operations.list({ topic: 'shipping.order' })).toEqual([]);
    expect(await operations.redrive({ all: true, topic: 'shipping.order' }, 'ops')).toEqual({
      redriven: [],
      notRedrivable: [],
    });
    expect(() => operations.assertKnownTopic('shipping.order')).toThrow(
      'shipping.order has no dead letters here (known: p.orders.order, p.inventory.product)',
    );
    expect(() => operations.assertKnownTopic('orders.order')).not.toThrow();
  });

  it("does not show another group's dead letter", async () => {
    const { operations } = setup();
    expect((await refusal(operations.show(`${dlq}:0:1`))).code).toBe('DEAD_LETTER_NOT_FOUND');
  });

  it('redrives with all what can go back and leaves the malformed one listed', async () => {
    const { operations, sent } = setup();
    const outcome = await operations.redrive({ all: true }, 'ops');
    expect(outcome.redriven.map((r) => r.ref)).toEqual([`${dlq}:0:0`]);
    expect(outcome.notRedrivable).toEqual([{ ref: `${dlq}:0:2`, reason: expect.stringContaining('not JSON') }]);
    expect(sent).toHaveLength(1);
    expect((await operations.list()).map((d) => d.ref)).toEqual([`${dlq}:0:2`]);
    expect(await operations.depth()).toEqual({ 'p.orders.order': 1, 'p.inventory.product': 0 });
  });

  it('does nothing when one of the named refs cannot be redriven', async () => {
    const { operations, sent } = setup();
    const selection: Selection = { refs: [`${dlq}:0:0`, `${dlq}:0:2`] };
    expect((await refusal(operations.redrive(selection, 'ops'))).code).toBe('DEAD_LETTER_NOT_REDRIVABLE');
    expect(sent).toEqual([]);
  });

  it('refuses a dead letter handled before, saying how and why', async () => {
    const { operations } = setup();
    await operations.discard({ refs: [`${dlq}:0:2`] }, 'garbage', 'ops');
    const { code, kind, details } = await refusal(operations.discard({ refs: [`${dlq}:0:2`] }, 'again', 'ops'));
    expect({ code, kind }).toEqual({ code: 'DEAD_LETTER_HANDLED', kind: 'conflict' });
    expect(details).toMatchObject({
      handled: { action: 'discarded', reason: 'garbage', at: '2024-02-01T00:00:00.000Z' },
    });
  });

  it.each([
    [{ refs: [] }, 'refs'],
    [{ refs: [`${dlq}:0:0`, 'nope'] }, 'refs.1'],
  ] as [Selection, string][])('refuses the selection %j as a field error on %s', async (selection, field) => {
    const { operations } = setup();
    const { code, details } = await refusal(operations.redrive(selection, 'ops'));
    expect(code).toBe('VALIDATION_FAILED');
    expect(details).toEqual({ errors: [{ field, message: expect.any(String) }] });
  });

  it('refuses a discard without a reason', async () => {
    const { operations, handled } = setup();
    const { details } = await refusal(operations.discard({ all: true }, '  ', 'ops'));
    expect(details).toEqual({ errors: [{ field: 'reason', message: expect.any(String) }] });
    expect(handled.size).toBe(0);
  });

  it('refuses refs of topics outside its scope as unknown', async () => {
    const { operations } = setup();
    expect((await refusal(operations.redrive({ refs: ['p.shipping.order.dlq:0:0'] }, 'ops'))).code).toBe(
      'DEAD_LETTER_NOT_FOUND',
    );
  });
});
