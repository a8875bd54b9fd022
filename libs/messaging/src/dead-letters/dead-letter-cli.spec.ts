import { parseDeadLetterCommand, UsageError } from './dead-letter-cli.js';

const REF = 'orders.order.dlq:0:12';

describe('parseDeadLetterCommand', () => {
  it.each([
    [[], { command: 'help' }],
    [['--help'], { command: 'help' }],
    [['list'], { command: 'list', json: false }],
    [['list', '--topic', 'orders.order', '--json'], { command: 'list', topic: 'orders.order', json: true }],
    [['show', REF], { command: 'show', ref: REF }],
    [
      ['redrive', REF, 'orders.order.dlq:2:0'],
      { command: 'redrive', selection: { refs: [REF, 'orders.order.dlq:2:0'] } },
    ],
    [
      ['redrive', '--all', '--topic', 'orders.order'],
      { command: 'redrive', selection: { all: true, topic: 'orders.order' } },
    ],
    [
      ['discard', REF, '--reason', 'sent by hand'],
      { command: 'discard', selection: { refs: [REF] }, reason: 'sent by hand' },
    ],
    [['discard', '--all', '--reason=test data'], { command: 'discard', selection: { all: true }, reason: 'test data' }],
  ])('reads %j', (argv, expected) => {
    expect(parseDeadLetterCommand(argv)).toEqual(expected);
  });

  it.each([
    [['lst'], 'Unknown command "lst"'],
    [['list', '--jsn'], "Unknown option '--jsn'"],
    [['list', REF], 'list takes no refs'],
    [['list', '--all'], 'list takes no --all'],
    [['list', '--topic'], "Option '--topic <value>' argument missing"],
    [['list', '--topic', ' '], '--topic is empty'],
    [['show'], 'show takes exactly one ref'],
    [['show', REF, REF], 'show takes exactly one ref'],
    [['show', 'orders.order:0:1'], 'is not a dead-letter ref'],
    [['redrive'], 'redrive needs refs or --all'],
    [['redrive', REF, '--all'], 'redrive takes refs or --all, not both'],
    [['redrive', REF, '--reason', 'x'], 'redrive takes no --reason'],
    [['discard', REF], 'discard needs --reason'],
    [['discard', REF, '--reason', ''], '--reason is empty'],
    [['discard', '12'], 'is not a dead-letter ref'],
  ])('refuses %j', (argv, message) => {
    expect(() => parseDeadLetterCommand(argv)).toThrow(UsageError);
    expect(() => parseDeadLetterCommand(argv)).toThrow(message);
  });
});
