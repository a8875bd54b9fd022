import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { createParamDecorator, type ExecutionContext, type INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { json, type NextFunction, type Request, type Response } from 'express';
import { externalCommand, runWithCorrelation, type CommandContext } from '@app/event-sourcing';
import { PROBLEM_JSON, problemType, ProblemDetails } from './problem-details.js';
import { ProblemDetailsFilter } from './problem-details.filter.js';
import { strictValidationPipe } from './validation.js';

export interface HttpAppOptions {
  readonly title: string;
  readonly description: string;
  /** Largest accepted request body, e.g. '64kb'. */
  readonly bodyLimit: string;
  /** Swagger tags (one per bounded context) with their descriptions. */
  readonly tags: readonly { name: string; description: string }[];
}

/** Keys that would reach object prototypes if a body were ever merged into an object: refused outright. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

class ForbiddenKeyError extends SyntaxError {}

/** Deeper bodies are refused before parsing: no DTO nests this far, and deep nesting costs stack. */
const MAX_JSON_DEPTH = 32;

class TooDeepError extends SyntaxError {}

/** Scans raw JSON for its nesting depth (brackets outside strings), without parsing it. */
const assertJsonDepth = (body: Buffer): void => {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i];
    if (inString) {
      if (byte === 0x5c)
        i++; // backslash: skip the escaped character
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) inString = true;
    else if (byte === 0x5b || byte === 0x7b) {
      if (++depth > MAX_JSON_DEPTH) throw new TooDeepError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    } else if (byte === 0x5d || byte === 0x7d) depth--;
  }
};

const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Everything an HTTP app of this starter shares: JSON body limits and parse errors as problem+json,
 * correlation ids, strict validation, the problem+json filter, Swagger UI at /docs (JSON at /docs-json)
 * and shutdown hooks. Create the app with `{ bodyParser: false }` so the parser here is the only one.
 */
export const configureHttpApp = (app: NestExpressApplication, options: HttpAppOptions): void => {
  app.use(correlationIdMiddleware);
  app.use(
    json({
      limit: options.bodyLimit,
      strict: true,
      type: ['application/json', 'application/*+json'],
      verify: (_req: unknown, _res: unknown, body: Buffer) => assertJsonDepth(body),
      reviver: (key: string, value: unknown) => {
        if (FORBIDDEN_KEYS.has(key)) throw new ForbiddenKeyError(`Property name "${key}" is not allowed`);
        return value;
      },
    }),
  );
  app.use(bodyErrorMiddleware);
  app.useGlobalPipes(strictValidationPipe());
  app.useGlobalFilters(new ProblemDetailsFilter());
  app.enableShutdownHooks();
  (app.getHttpServer() as Server).on('clientError', answerClientError);
  setUpSwagger(app, options);
};

/**
 * Requests Node's HTTP parser refuses before any middleware runs (headers or URL over its limit,
 * broken request lines) are answered as problem+json too, instead of a bare status line.
 */
const answerClientError = (error: Error & { code?: string }, socket: Duplex): void => {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason, code] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? ([431, 'Request Header Fields Too Large', 'HEADERS_TOO_LARGE'] as const)
      : ([400, 'Bad Request', 'MALFORMED_REQUEST'] as const);
  const body = JSON.stringify({
    type: problemType(code),
    title: reason,
    status,
    code,
    detail: status === 431 ? 'The request line and headers exceed the server limit' : 'The request could not be parsed',
  });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: ${PROBLEM_JSON}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Connection: close\r\n\r\n${body}`,
  );
};

const setUpSwagger = (app: INestApplication, options: HttpAppOptions): void => {
  const builder = new DocumentBuilder().setTitle(options.title).setDescription(options.description).setVersion('1.0');
  for (const tag of options.tags) builder.addTag(tag.name, tag.description);
  const document = SwaggerModule.createDocument(app, builder.build(), { extraModels: [ProblemDetails] });
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
};

const correlationIdMiddleware = (req: Request, res: Response, next: NextFunction): void => {
  const sent = req.header('x-correlation-id');
  const correlationId = sent && CORRELATION_ID.test(sent) ? sent : randomUUID();
  res.setHeader('x-correlation-id', correlationId);
  runWithCorrelation(correlationId, next);
};

/** Body parser failures (malformed JSON, too large, forbidden keys) answered as problem+json. */
const bodyErrorMiddleware = (error: unknown, req: Request, res: Response, next: NextFunction): void => {
  if (!error || typeof error !== 'object') return next(error);
  const classified = classifyBodyError(error);
  if (!classified) return next(error);
  const [code, statusCode, title] = classified;
  res
    .status(statusCode)
    .type(PROBLEM_JSON)
    .send(
      JSON.stringify({
        type: problemType(code),
        title,
        status: statusCode,
        code,
        detail:
          error instanceof ForbiddenKeyError || error instanceof TooDeepError
            ? error.message
            : `${title}: ${(error as Error).message}`,
        instance: req.originalUrl.split('?')[0],
        correlationId: res.getHeader('x-correlation-id'),
      }),
    );
};

const classifyBodyError = (error: object): [code: string, status: number, title: string] | undefined => {
  const { status, type: kind } = error as { status?: number; type?: string };
  if (error instanceof ForbiddenKeyError || error instanceof TooDeepError || kind === 'entity.parse.failed')
    return ['MALFORMED_JSON', 400, 'Malformed JSON body'];
  if (kind === 'entity.too.large') return ['PAYLOAD_TOO_LARGE', 413, 'Request body too large'];
  if (status && status >= 400 && status < 500) return ['BAD_REQUEST_BODY', status, 'Unreadable request body'];
  return undefined;
};

/** The command context of the current request: fresh command id, the request's correlation id. */
export const RequestContext = createParamDecorator((_: unknown, ctx: ExecutionContext): CommandContext => {
  const response = ctx.switchToHttp().getResponse<Response>();
  return externalCommand(response.getHeader('x-correlation-id') as string | undefined);
});
