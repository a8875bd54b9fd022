import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kafkaSecurityConfig } from './kafka-settings.js';

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
