// The starter's HTTP app on Nest's Fastify adapter, for bench/micro/http-adapter.ts only: the same modules,
// guards, validation pipe, Idempotency-Key interceptor and problem+json filter as createHttpApp (Express),
// with Fastify's equivalents of configureHttpApp's Express middleware (@fastify/helmet, Fastify's own JSON
// parser with the body limit and prototype-poisoning refusal, its 415 for other content types), and the
// metrics and admission middleware run through middie. What is left out does not run on the order path's
// requests measured there: Swagger UI (needs @fastify/static), CORS (off by default), the JSON depth scan
// (a byte loop over a ~100-byte body), the clientError answer and the 405 lookup. Not a supported bootstrap.
import { randomUUID } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import helmet from '@fastify/helmet';
import { Logger as PinoLogger, PARAMS_PROVIDER_TOKEN, type Params } from 'nestjs-pino';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DestinationStream } from 'pino';
import { pinoHttp, type Options } from 'pino-http';
import type { AppConfig } from '@app/config';
import { runWithCorrelation } from '@app/event-sourcing';
import {
  Admission,
  httpMetricsMiddleware,
  IdempotencyKeyInterceptor,
  PROBLEM_JSON,
  ProblemDetailsFilter,
  strictValidationPipe,
} from '@app/http';
import { applicationModule, type AppDefinition } from '@app/platform';

const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** '64kb' -> bytes (the config's HTTP_BODY_LIMIT_KB always writes kilobytes). */
const bytesOf = (limit: string): number => Number.parseInt(limit, 10) * (limit.endsWith('mb') ? 1 << 20 : 1 << 10);

export const createFastifyHttpApp = async (
  definition: AppDefinition,
  config: AppConfig,
): Promise<NestFastifyApplication> => {
  const adapter = new FastifyAdapter({
    bodyLimit: bytesOf(config.bodyLimit),
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  });
  const app = await NestFactory.create<NestFastifyApplication>(applicationModule(definition, config), adapter, {
    bodyParser: false, // Fastify's built-in application/json parser only
    bufferLogs: true,
  });
  app.useLogger(app.get(PinoLogger));
  const fastify = app.getHttpAdapter().getInstance();
  fastify.removeContentTypeParser('text/plain'); // JSON only: anything else is 415, as on Express
  // What the shared code reads through Express' request and response API (Idempotency-Key interceptor,
  // ClientGone), given to Fastify's objects: the port a switch would have to make in libs/http.
  fastify.decorateRequest('header', function (this: { headers: Record<string, unknown> }, name: string) {
    return this.headers[name.toLowerCase()];
  });
  fastify.decorateReply('once', function (this: { raw: NodeJS.EventEmitter }, event: string, fn: () => void) {
    return this.raw.once(event, fn);
  });
  fastify.decorateReply('writableFinished', {
    getter(this: { raw: { writableFinished: boolean } }) {
      return this.raw.writableFinished;
    },
  });
  fastify.addHook('onRequest', (req, reply, done) => {
    const sent = req.headers['x-correlation-id'];
    const correlationId = typeof sent === 'string' && CORRELATION_ID.test(sent) ? sent : randomUUID();
    reply.header('x-correlation-id', correlationId);
    runWithCorrelation(correlationId, done);
  });
  fastify.addHook('preValidation', (req, reply, done) => {
    const body: unknown = req.body;
    if (body === undefined || (typeof body === 'object' && body !== null && !Array.isArray(body))) return done();
    void reply.code(400).type(PROBLEM_JSON).send({ status: 400, code: 'VALIDATION_FAILED' });
  });
  // nestjs-pino's access-log middleware does not run under this adapter (no line for a 400, where Express
  // writes one): the same pino-http middleware, with the app's options, added here so that both log alike.
  const { pinoHttp: options } = app.get<Params>(PARAMS_PROVIDER_TOKEN);
  const [httpOptions, stream] = options as [Options<IncomingMessage, ServerResponse>, DestinationStream];
  app.use(pinoHttp(httpOptions, stream));
  await app.register(helmet, { contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } });
  app.use(httpMetricsMiddleware);
  app.use(new Admission(config.admission).middleware);
  app.useGlobalPipes(strictValidationPipe());
  app.useGlobalInterceptors(new IdempotencyKeyInterceptor());
  app.useGlobalFilters(new ProblemDetailsFilter());
  app.enableShutdownHooks(undefined, { useProcessExit: true });
  return app;
};
