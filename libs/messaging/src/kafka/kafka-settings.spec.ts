import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Kafka, logLevel } from 'kafkajs';
import {
  kafkaClientConfig,
  kafkaLogCreator,
  kafkaProducerConfig,
  kafkaSecurityConfig,
  type KafkaTransportOptions,
} from './kafka-settings.js';

describe('kafkaSecurityConfig', () => {
  it('is plaintext without settings', () => {
    expect(kafkaSecurityConfig({})).toEqual({});
  });

  it('reads the CA, client certificate and key into kafkajs TLS options, and passes SASL through', () => {
    const folder = mkdtempSync(join(tmpdir(), 'kafka-tls-'));
    const file = (name: string, text: string) => {
      writeFileSync(join(folder, name), text);
      return join(folder, name);
    };
    const config = kafkaSecurityConfig({
      ssl: {
        caFile: file('ca.pem', 'CA'),
        certFile: file('cert.pem', 'CERT'),
        keyFile: file('key.pem', 'KEY'),
        rejectUnauthorized: true,
      },
      sasl: { mechanism: 'scram-sha-256', username: 'orders', password: 'secret' },
    });
    expect(config).toEqual({
      ssl: { rejectUnauthorized: true, ca: ['CA'], cert: 'CERT', key: 'KEY' },
      sasl: { mechanism: 'scram-sha-256', username: 'orders', password: 'secret' },
    });
  });
});

describe('kafkaLogCreator', () => {
  const options = { kind: 'kafka', clientId: 'spec', brokers: ['127.0.0.1:1'] } as unknown as KafkaTransportOptions;
  let warn: jest.SpiedFunction<Logger['warn']>;
  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
  });
  afterEach(() => warn.mockRestore());

  it('keeps the idempotent producer quiet about the retries we bound on purpose', () => {
    const config = kafkaClientConfig(options);
    expect(config.logCreator).toBe(kafkaLogCreator);
    new Kafka(config).producer(kafkaProducerConfig());
    expect(warn).not.toHaveBeenCalled();
  });

  it("passes kafkajs' other warnings to Nest's logger with their namespace", () => {
    kafkaLogCreator(logLevel.WARN)({
      namespace: 'Consumer',
      level: logLevel.WARN,
      label: 'WARN',
      log: { message: 'something else', timestamp: 't' },
    });
    expect(warn).toHaveBeenCalledWith('WARN [Consumer] something else {"timestamp":"t"}');
  });
});
