/**
 * kafkajs' own log, through Nest's logger, without the noise of an unreachable broker: kafkajs logs an
 * error (with a stack) for every connection attempt of every client, a dozen lines a second while the broker
 * is down. Those go to debug; the application says once that Kafka is unavailable and once that it is back
 * (DependencyConnection, the consumer monitor). Stacks are never logged. Other warnings and errors stay.
 */
import { Logger } from '@nestjs/common';
import { logLevel, type logCreator } from 'kafkajs';

/** What a broker outage makes kafkajs log, attempt after attempt. */
const UNREACHABLE =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EPIPE|Connection (error|timeout|closed)|Closed connection|Failed to connect|NumberOfRetriesExceeded|coordinator is not (available|aware)|not the (correct )?coordinator|leader (is )?not available|Broker not connected|disconnected/i;
const CONNECTION_NAMESPACES = new Set(['Connection', 'BrokerPool']);
/** Said at every producer creation (each connection attempt): bounded retries are deliberate, the relay retries on top. */
const KNOWN_CHOICES = /Limiting retries for the idempotent producer/;

export const isBrokerUnreachableLog = (namespace: string, message: string, error?: unknown): boolean =>
  CONNECTION_NAMESPACES.has(namespace) || UNREACHABLE.test(message) || UNREACHABLE.test(String(error ?? ''));

export const kafkaLogCreator: logCreator = () => {
  const logger = new Logger('kafkajs');
  return ({ namespace, level, log }) => {
    const { message, stack: _stack, timestamp: _timestamp, logger: _name, ...fields } = log;
    const line = `[${namespace}] ${message}${Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : ''}`;
    if (
      level <= logLevel.WARN &&
      (isBrokerUnreachableLog(namespace, message, fields['error']) || KNOWN_CHOICES.test(message))
    ) {
      logger.debug(line);
    } else if (level === logLevel.ERROR) logger.error(line);
    else if (level === logLevel.WARN) logger.warn(line);
    else if (level === logLevel.INFO) logger.log(line);
    else logger.debug(line);
  };
};
