import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Injectable, Logger, type DynamicModule, type LogLevel } from '@nestjs/common';
import { trace } from '@opentelemetry/api';
import { LoggerModule } from 'nestjs-pino';
import pino, { type Level, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';
import type { AppConfig } from '@app/config';
import { currentCorrelationId } from '@app/event-sourcing';

/** Nest's level names as pino's. */
const PINO_LEVELS: Record<LogLevel, Level> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/** Never written, wherever they appear in a logged object: credentials of requests and configuration. */
const REDACTED = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.secret',
  '*.token',
  '*.key',
  '*.COSMOS_KEY',
];

/**
 * Every line also carries the correlation id of the request or event being handled and, with tracing
 * on, the trace and span ids of the active span (so a log search finds the trace, and back).
 */
const context = (): Record<string, string> => {
  const fields: Record<string, string> = {};
  const correlationId = currentCorrelationId();
  if (correlationId) fields.correlationId = correlationId;
  const span = trace.getActiveSpan()?.spanContext();
  if (span && trace.isSpanContextValid(span)) {
    fields.trace_id = span.traceId;
    fields.span_id = span.spanId;
  }
  return fields;
};

/** The pino options of an app: level, service, redaction, trace ids; one JSON object per line. */
const pinoOptions = (service: string, log: AppConfig['log']): LoggerOptions => ({
  level: PINO_LEVELS[log.level],
  base: { service },
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { level: (label) => ({ level: label }) },
  mixin: context,
  redact: { paths: REDACTED, censor: '[redacted]' },
});

/**
 * nestjs-pino for an app: one pino logger behind Nest's `Logger` (every `new Logger(context)` of the
 * code), and pino-http access logs whose request id is the correlation id (set by the HTTP layer's
 * correlation middleware, which runs first). JSON lines with LOG_FORMAT=json (production, log
 * shippers); pino-pretty's readable lines with LOG_FORMAT=pretty (development), written synchronously.
 */
export const loggingModule = (service: string, log: AppConfig['log']): DynamicModule =>
  LoggerModule.forRoot({
    pinoHttp: [
      {
        ...pinoOptions(service, log),
        genReqId: (req: IncomingMessage, res: ServerResponse) => {
          const correlationId = res.getHeader('x-correlation-id');
          return typeof correlationId === 'string' ? correlationId : randomUUID();
        },
        // Probes and scrapes every few seconds would drown the access log.
        autoLogging: { ignore: (req: IncomingMessage) => /^\/(health|metrics)(\/|$|\?)/.test(req.url ?? '') },
        // 503 is a dependency that is down (said in the problem+json and by /health/ready), not a bug.
        customLogLevel: (_req: IncomingMessage, res: ServerResponse, error?: Error) =>
          res.statusCode === 503
            ? 'warn'
            : error || res.statusCode >= 500
              ? 'error'
              : res.statusCode >= 400
                ? 'warn'
                : 'info',
        customSuccessMessage: (req: IncomingMessage, res: ServerResponse, ms: number) =>
          `${req.method} ${req.url} ${res.statusCode} ${Math.round(ms)} ms`,
        customErrorMessage: (req: IncomingMessage, res: ServerResponse, error: Error) =>
          `${req.method} ${req.url} ${res.statusCode} ${error.message}`,
        // A 5xx answered on purpose (a problem+json the HTTP layer logged already) gets no made-up error
        // and stack from pino-http: while a dependency is down that was a stack trace per request.
        customErrorObject: (_req: IncomingMessage, res: ServerResponse, error: Error, object: object) => {
          if (error.message !== `failed with status code ${res.statusCode}`) return object;
          const { err: _synthetic, ...rest } = object as { err?: unknown };
          return rest;
        },
        quietReqLogger: true,
      },
      log.format === 'pretty'
        ? pretty({
            sync: true,
            colorize: process.stdout.isTTY,
            translateTime: 'SYS:HH:MM:ss.l',
            // One line each: the message (access lines say method, path, status, time) and the ids.
            messageFormat: '{if context}[{context}] {end}{msg}',
            ignore: 'pid,hostname,service,context,req,res,reqId,responseTime',
            singleLine: true,
          })
        : pino.destination({ sync: true }),
    ],
  });

/**
 * Terminus' logger: a failed readiness check is what a 503 already says (and what the orchestrator
 * acts on), not an application error, so it is logged as a warning.
 */
@Injectable()
export class HealthCheckLogger extends Logger {
  constructor() {
    super('HealthCheck');
  }

  override error(message: unknown): void {
    this.warn(message);
  }
}
