// Dead-letter operations from the command line (docs/dead-letters.md):
//   npm run dlq -- list [--topic T] [--json] | show <ref> | redrive <ref...|--all> [--topic T]
//                | discard <ref...|--all> --reason R [--topic T]
// Uses the Kafka variables of the services (KAFKA_BROKERS, KAFKA_TOPIC_PREFIX, TLS/SASL) and operates on the
// dead-letter topics of every contract topic, for every consumer group. A redrive is upcast with the event
// types of every registered context (read from the embedded monolith's registry, nothing listed by hand).
import { userInfo } from 'node:os';
import { NestFactory } from '@nestjs/core';
import { ConfigError, loadConfig, readAppConfig } from '@app/config';
import { monolithDefinition } from '@app/contexts';
import { EventTypeRegistry } from '@app/event-sourcing';
import {
  allEventTopics,
  DEAD_LETTER_USAGE,
  DeadLetterOperations,
  KafkaDeadLetterLog,
  parseDeadLetterCommand,
  runDeadLetterCommand,
  UsageError,
  type DeadLetterCommand,
} from '@app/messaging';
import { applicationModule } from '@app/platform';

/** The event types (with upcasters) of every context, as the monolith registers them. */
const currentEventTypes = async (): Promise<EventTypeRegistry> => {
  const embedded = loadConfig({ LOG_LEVEL: 'error' }, { port: 0, service: 'monolith' });
  const app = await NestFactory.createApplicationContext(applicationModule(monolithDefinition(), embedded), {
    logger: ['error'],
  });
  try {
    return app.get(EventTypeRegistry);
  } finally {
    await app.close();
  }
};

/** Who runs the command, recorded with what is handled (a container may have no user name). */
const operator = (): string => {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
};

const main = async (): Promise<number> => {
  let command: DeadLetterCommand;
  try {
    command = parseDeadLetterCommand(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${error.message}\n${DEAD_LETTER_USAGE}`);
    return 2;
  }
  let kafka;
  try {
    const { config } = await readAppConfig({ port: 0, service: 'tools' }, { EVENT_TRANSPORT: 'kafka' });
    kafka = config.transport.kind === 'kafka' ? config.transport : undefined;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return 2;
  }
  if (!kafka) return 2;
  const eventTypes = await currentEventTypes();
  const log = new KafkaDeadLetterLog(kafka);
  const scope = {
    topics: allEventTopics(kafka).filter((topic) => topic.endsWith('.dlq')),
    topicPrefix: kafka.topicPrefix,
  };
  try {
    const operations = new DeadLetterOperations(log, scope, (event) => eventTypes.upcast(event));
    const io = { out: (text: string) => console.log(text), err: (text: string) => console.error(text) };
    return await runDeadLetterCommand(command, operations, io, `cli:${operator()}`);
  } finally {
    await log.close();
  }
};

process.exitCode = await main();
