import { z } from 'zod';
import type { TransportOptions } from '@app/messaging';
import { boolean, existingFile, oneOf } from './variables.js';

/** Kafka TLS and SASL, as the Kafka transport takes them. */
export type KafkaSecurity = Pick<Extract<TransportOptions, { kind: 'kafka' }>, 'ssl' | 'sasl'>;

const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

/** TLS (a private CA, a client certificate) and SASL credentials to the brokers. TLS is on as soon as a file is set. */
export const kafkaSecurityEnv = z
  .object({
    KAFKA_SSL: boolean().optional(),
    KAFKA_SSL_CA_FILE: existingFile().optional(),
    KAFKA_SSL_CERT_FILE: existingFile().optional(),
    KAFKA_SSL_KEY_FILE: existingFile().optional(),
    KAFKA_SSL_INSECURE_SKIP_VERIFY: boolean().default(false),
    KAFKA_SASL_MECHANISM: z.string().toLowerCase().pipe(oneOf(SASL_MECHANISMS)).optional(),
    KAFKA_SASL_USERNAME: z.string().optional(),
    KAFKA_SASL_PASSWORD: z.string().optional(),
  })
  .superRefine((env, ctx) => {
    const problem = (message: string) => ctx.addIssue({ code: 'custom', message });
    if ((env.KAFKA_SSL_CERT_FILE === undefined) !== (env.KAFKA_SSL_KEY_FILE === undefined))
      problem('KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together (a client certificate and its key)');
    if (env.KAFKA_SSL === false && (env.KAFKA_SSL_CA_FILE || env.KAFKA_SSL_CERT_FILE))
      problem('KAFKA_SSL_* files are set but KAFKA_SSL=false');
    const credentials = env.KAFKA_SASL_USERNAME !== undefined && env.KAFKA_SASL_PASSWORD !== undefined;
    if (env.KAFKA_SASL_MECHANISM !== undefined && !credentials)
      problem('KAFKA_SASL_MECHANISM needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD');
    if (env.KAFKA_SASL_MECHANISM === undefined && (env.KAFKA_SASL_USERNAME ?? env.KAFKA_SASL_PASSWORD) !== undefined)
      problem('KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD need KAFKA_SASL_MECHANISM');
  })
  .transform((env): KafkaSecurity => {
    const { KAFKA_SSL_CA_FILE: caFile, KAFKA_SSL_CERT_FILE: certFile, KAFKA_SSL_KEY_FILE: keyFile } = env;
    const sslOn = env.KAFKA_SSL ?? (caFile !== undefined || certFile !== undefined);
    const rejectUnauthorized = !env.KAFKA_SSL_INSECURE_SKIP_VERIFY;
    const { KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password } = env;
    return {
      ...(sslOn ? { ssl: { caFile, certFile, keyFile, rejectUnauthorized } } : {}),
      ...(mechanism && username !== undefined && password !== undefined
        ? { sasl: { mechanism, username, password } }
        : {}),
    };
  });
