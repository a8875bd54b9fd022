import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { logLevel } from 'kafkajs';
import { isBrokerUnreachableLog, kafkaLogCreator } from './kafka-log.js';

describe('kafkajs log', () => {
  describe('while the broker is unreachable', () => {
    it.each([
      ['Connection', 'Connection error: connect ECONNREFUSED 127.0.0.1:9092'],
      ['BrokerPool', 'Failed to connect to seed broker, trying another broker from the list'],
      ['Consumer', 'Crash: KafkaJSNumberOfRetriesExceeded: connect ECONNREFUSED'],
      ['Runner', 'The group coordinator is not available'],
    ])('takes [%s] %s for connection noise', (namespace, message) => {
      expect(isBrokerUnreachableLog(namespace, message)).toBe(true);
    });

    it('keeps other errors', () => {
      expect(isBrokerUnreachableLog('Producer', 'Failed to send messages: This server is not the leader')).toBe(false);
    });
  });

  it('logs connection noise at debug, other errors as errors, never a stack', () => {
    const calls: [string, string][] = [];
    for (const method of ['debug', 'error', 'warn', 'log'] as const) {
      jest
        .spyOn(Logger.prototype, method)
        .mockImplementation((message: unknown) => void calls.push([method, String(message)]));
    }
    const log = kafkaLogCreator(logLevel.WARN);
    const stack = 'Error: connect ECONNREFUSED\n    at TCPConnectWrap.afterConnect';
    log({
      namespace: 'Connection',
      level: logLevel.ERROR,
      label: 'ERROR',
      log: { message: 'Connection error', stack, timestamp: 't', logger: 'kafkajs' },
    });
    log({
      namespace: 'Producer',
      level: logLevel.ERROR,
      label: 'ERROR',
      log: { message: 'Failed to send', stack, timestamp: 't', logger: 'kafkajs', retryCount: 1 },
    });
    jest.restoreAllMocks();
    expect(calls).toEqual([
      ['debug', '[Connection] Connection error'],
      ['error', '[Producer] Failed to send {"retryCount":1}'],
    ]);
  });
});
