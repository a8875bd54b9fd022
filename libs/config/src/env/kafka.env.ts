import { z } from 'zod';
import { commaList, integer, oneOf, resourceName } from './variables.js';

const BROKER = /^[^\s:/]+:\d{1,5}$/;

/** How integration events travel: in process, or over Kafka (KAFKA_BROKERS required then). */
export const kafkaEnv = z
  .object({
    EVENT_TRANSPORT: oneOf(['inprocess', 'kafka']).default('inprocess'),
    KAFKA_BROKERS: commaList(),
    KAFKA_CLIENT_ID: resourceName().optional(),
    KAFKA_TOPIC_PREFIX: resourceName().default(''),
    /** Defaults to `<service>.<APP_ROLE>`: a query-side process must not steal the command side's messages. */
    KAFKA_GROUP_ID: resourceName().optional(),
    KAFKA_TOPIC_PARTITIONS: integer(1, 1_000).default(3),
    /** retention.ms of the topics created at start-up; unset: kept forever (the log a service added later replays). */
    KAFKA_TOPIC_RETENTION_MS: integer(60_000, Number.MAX_SAFE_INTEGER).optional(),
    KAFKA_HANDLER_ATTEMPTS: integer(1, 100).default(5),
    KAFKA_RETRY_BASE_DELAY_MS: integer(1, 60_000).default(100),
  })
  .superRefine((env, ctx) => {
    if (env.EVENT_TRANSPORT !== 'kafka') return;
    if (env.KAFKA_BROKERS.length === 0 || !env.KAFKA_BROKERS.every((broker) => BROKER.test(broker)))
      ctx.addIssue({
        code: 'custom',
        path: ['KAFKA_BROKERS'],
        message: 'must be host:port[,host:port...] with EVENT_TRANSPORT=kafka',
      });
  });
